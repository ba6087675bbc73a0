import type * as grpc from '@grpc/grpc-js';
import { faxServiceV1 } from '@switchboard/proto';
import { CsrfField, Select } from '../../components.js';
import type { PortalContext } from '../../context.js';
import { fromGrpc, PortalError } from '../../errors.js';
import { translator, type Language, type Translate } from '../../i18n.js';
import { render } from '../../render.js';
import { api, assertDepartment, sessionOf, type PortalPage } from '../../routes.js';
import { userMetadata } from '../../rpc.js';
import { visibleDepartments } from '../departments/model.js';
import { messages } from './messages.js';

// The tenant's fax and voicemail inboxes (the fax service's): list per department, view a fax's
// PDF and play a voicemail in the page (the portal streams the file from the fax service with the
// user's token), mark handled (audited by the fax service).

// As the fax service's policy: the tenant's admins, the provider, and department leads for their
// own departments' records (the fax service checks each record's department against the token;
// the portal refuses another department in the filter before asking).
const ROLES = ['admin', 'operator', 'supervisor'] as const;
const PAGE_SIZE = 100;
const ZONE = 'Europe/Berlin';

type T = Translate<keyof (typeof messages)['de']>;

export interface InboxFilter {
  departmentId: string;
  openOnly: boolean;
  faxPage: string;
  voicemailPage: string;
}

export function filterOf(query: (name: string) => string | undefined): InboxFilter {
  return {
    departmentId: (query('abteilung') ?? '').trim(),
    // Open ones by default; the form sends `offen=0` when the box is cleared.
    openOnly: query('offen') !== '0',
    faxPage: (query('faxSeite') ?? '').trim(),
    voicemailPage: (query('sprachSeite') ?? '').trim(),
  };
}

async function load(c: PortalContext, filter: InboxFilter) {
  if (filter.departmentId) assertDepartment(c, filter.departmentId);
  const tenantId = c.var.tenantId;
  const fax = api(c).fax;
  // No department chosen: the fax service lists all the token may read (a lead's: theirs).
  const [faxes, voicemails, departments] = await Promise.all([
    fax.listFaxes({
      tenantId,
      pageSize: PAGE_SIZE,
      pageToken: filter.faxPage,
      unhandledOnly: filter.openOnly,
      departmentId: filter.departmentId,
    }),
    fax.listVoicemails({
      tenantId,
      pageSize: PAGE_SIZE,
      pageToken: filter.voicemailPage,
      unhandledOnly: filter.openOnly,
      departmentId: filter.departmentId,
    }),
    visibleDepartments(c),
  ]);
  return {
    faxes: faxes.faxes,
    nextFaxPage: faxes.nextPageToken,
    voicemails: voicemails.voicemails,
    nextVoicemailPage: voicemails.nextPageToken,
    departments: departments.map((department) => ({ value: department.departmentId, label: department.name })),
  };
}

function berlinTime(at: Date | undefined, language: Language): string {
  if (!at) return '–';
  return new Intl.DateTimeFormat(language === 'de' ? 'de-DE' : 'en-GB', {
    timeZone: ZONE,
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(at);
}

const statusKey = (name: string, prefix: string) =>
  `status.${name.slice(prefix.length).toLowerCase().replaceAll('_', '-')}` as const;

function statusText(t: T, name: string, prefix: string): string {
  const key = statusKey(name, prefix);
  return key in messages.de ? t(key as keyof (typeof messages)['de']) : name;
}

const minutes = (seconds: number) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;

const query = (filter: InboxFilter, changes: Partial<InboxFilter>) => {
  const next = { ...filter, ...changes };
  const params = new URLSearchParams();
  if (next.departmentId) params.set('abteilung', next.departmentId);
  if (!next.openOnly) params.set('offen', '0');
  if (next.faxPage) params.set('faxSeite', next.faxPage);
  if (next.voicemailPage) params.set('sprachSeite', next.voicemailPage);
  return params.toString();
};

/**
 * Streams a file of the fax service (a server stream of chunks, the first naming the file) to the
 * browser as it arrives; a refusal before the first chunk becomes the portal's error page.
 */
async function streamFile(
  c: PortalContext,
  open: (metadata: grpc.Metadata) => grpc.ClientReadableStream<{
    fileName: string;
    contentType: string;
    totalBytes: string;
    chunk: Buffer;
  }>,
): Promise<Response> {
  const metadata = await userMetadata(c.var.deps.tokens, sessionOf(c));
  const stream = open(metadata);
  const iterator = stream[Symbol.asyncIterator]();
  let first;
  try {
    first = await iterator.next();
  } catch (error) {
    throw fromGrpc(error, 'fax');
  }
  if (first.done) throw new PortalError(404, 'error.notFound', {}, 'the fax service sent no file');
  const head = first.value as { fileName: string; contentType: string; totalBytes: string; chunk: Buffer };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.chunk.length > 0) controller.enqueue(new Uint8Array(head.chunk));
    },
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(new Uint8Array((next.value as { chunk: Buffer }).chunk));
      } catch (error) {
        controller.error(error);
      }
    },
    cancel() {
      stream.cancel();
    },
  });
  const headers = new Headers({
    'Content-Type': head.contentType || 'application/octet-stream',
    // Shown in the browser (PDF viewer, <audio>), not saved; the name is for "save as".
    'Content-Disposition': `inline; filename="${head.fileName.replace(/[^\w.-]/g, '_')}"`,
    'Cache-Control': 'private, no-store',
  });
  if (/^\d+$/.test(head.totalBytes) && head.totalBytes !== '0') headers.set('Content-Length', head.totalBytes);
  return new Response(body, { status: 200, headers });
}

const idOf = (c: PortalContext) => c.req.param('id') ?? '';

export const inboxPage: PortalPage = {
  name: 'inbox',
  nav: { path: '/posteingang', label: { de: messages.de.label, en: messages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/posteingang',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const language = c.var.language;
        const filter = filterOf((name) => c.req.query(name));
        const data = await load(c, filter);
        const csrf = sessionOf(c).csrfToken;
        const departmentName = new Map(data.departments.map((department) => [department.value, department.label]));
        const here = query(filter, {});
        const back = `/posteingang${here ? `?${here}` : ''}`;
        const markForm = (action: string, label: string) => (
          <form method="post" action={action}>
            <CsrfField token={csrf} />
            <input type="hidden" name="next" value={back} />
            <button type="submit" aria-label={label}>
              {t('markHandled')}
            </button>
          </form>
        );
        const handledCell = (record: { handledAt?: Date | undefined; handledBy: string }, form: unknown) =>
          record.handledAt
            ? t('handledBy', { at: berlinTime(record.handledAt, language), by: record.handledBy })
            : form;
        return render(c, {
          title: t('title'),
          status: c.req.query('erledigt') ? t('marked') : undefined,
          body: (
            <>
              <p>{t('intro')}</p>
              <form method="get" action="/posteingang" aria-label={t('filter')}>
                <Select
                  name="abteilung"
                  label={t('department')}
                  value={filter.departmentId}
                  options={[{ value: '', label: t('allDepartments') }, ...data.departments]}
                />
                <div class="field">
                  <input type="checkbox" id="field-offen" name="offen" value="1" checked={filter.openOnly} />{' '}
                  <label for="field-offen">{t('openOnly')}</label>
                </div>
                {/* After the box: a checked box's 1 is read first, a cleared one leaves this 0. */}
                <input type="hidden" name="offen" value="0" />
                <button type="submit">{t('apply')}</button>
              </form>
              <h2 id="faxe">{t('faxes')}</h2>
              {data.faxes.length === 0 ? (
                <p>{t('noFaxes')}</p>
              ) : (
                <table aria-labelledby="faxe">
                  <thead>
                    <tr>
                      <th scope="col">{t('received')}</th>
                      <th scope="col">{t('department')}</th>
                      <th scope="col">{t('from')}</th>
                      <th scope="col">{t('pages')}</th>
                      <th scope="col">{t('status')}</th>
                      <th scope="col">{t('document')}</th>
                      <th scope="col">{t('handled')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.faxes.map((fax) => {
                      const at = berlinTime(fax.receivedAt, language);
                      const from = fax.callerNumber || fax.remoteStationId || t('unknownCaller');
                      return (
                        <tr>
                          <td>{at}</td>
                          <td>{departmentName.get(fax.departmentId) ?? (fax.departmentId || '–')}</td>
                          <td>{from}</td>
                          <td>{fax.pages}</td>
                          <td>
                            {statusText(t, faxServiceV1.faxStatusToJSON(fax.status), 'FAX_STATUS_')}
                            {fax.viaFallback ? ` (${t('fallback')})` : ''}
                          </td>
                          <td>
                            {fax.hasPdf ? (
                              <a
                                href={`/posteingang/faxe/${encodeURIComponent(fax.faxId)}/pdf`}
                                aria-label={t('viewPdfOf', { from, at })}
                              >
                                {t('viewPdf')}
                              </a>
                            ) : (
                              t('noDocument')
                            )}
                          </td>
                          <td>
                            {handledCell(
                              fax,
                              markForm(
                                `/posteingang/faxe/${encodeURIComponent(fax.faxId)}/erledigt`,
                                t('markHandledOf', { kind: t('fax'), from, at }),
                              ),
                            )}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              )}
              {data.nextFaxPage ? (
                <p>
                  <a href={`/posteingang?${query(filter, { faxPage: data.nextFaxPage })}#faxe`}>{t('more')}</a>
                </p>
              ) : (
                ''
              )}
              <h2 id="sprachnachrichten">{t('voicemails')}</h2>
              {data.voicemails.length === 0 ? (
                <p>{t('noVoicemails')}</p>
              ) : (
                <table aria-labelledby="sprachnachrichten">
                  <thead>
                    <tr>
                      <th scope="col">{t('received')}</th>
                      <th scope="col">{t('department')}</th>
                      <th scope="col">{t('from')}</th>
                      <th scope="col">{t('duration')}</th>
                      <th scope="col">{t('status')}</th>
                      <th scope="col">{t('audio')}</th>
                      <th scope="col">{t('handled')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.voicemails.map((voicemail) => {
                      const at = berlinTime(voicemail.receivedAt, language);
                      const from = voicemail.callerNumber || t('unknownCaller');
                      return (
                        <tr>
                          <td>{at}</td>
                          <td>{departmentName.get(voicemail.departmentId) ?? (voicemail.departmentId || '–')}</td>
                          <td>{from}</td>
                          <td>{minutes(voicemail.durationSeconds)}</td>
                          <td>
                            {statusText(t, faxServiceV1.voicemailStatusToJSON(voicemail.status), 'VOICEMAIL_STATUS_')}
                            {voicemail.viaFallback ? ` (${t('fallback')})` : ''}
                          </td>
                          <td>
                            {voicemail.hasAudio ? (
                              <audio
                                controls
                                preload="none"
                                src={`/posteingang/sprachnachrichten/${encodeURIComponent(voicemail.voicemailId)}/audio`}
                                aria-label={t('audioOf', { from, at })}
                              />
                            ) : (
                              t('noAudio')
                            )}
                          </td>
                          <td>
                            {handledCell(
                              voicemail,
                              markForm(
                                `/posteingang/sprachnachrichten/${encodeURIComponent(voicemail.voicemailId)}/erledigt`,
                                t('markHandledOf', { kind: t('voicemail'), from, at }),
                              ),
                            )}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              )}
              {data.nextVoicemailPage ? (
                <p>
                  <a
                    href={`/posteingang?${query(filter, { voicemailPage: data.nextVoicemailPage })}#sprachnachrichten`}
                  >
                    {t('more')}
                  </a>
                </p>
              ) : (
                ''
              )}
            </>
          ),
        });
      },
    },
    {
      method: 'GET',
      path: '/posteingang/faxe/:id/pdf',
      allow: ROLES,
      handler: (c) =>
        streamFile(c, (metadata) =>
          c.var.deps.clients
            .client('fax')
            .downloadFax(
              { tenantId: c.var.tenantId, faxId: idOf(c), format: faxServiceV1.DocumentFormat.DOCUMENT_FORMAT_PDF },
              metadata,
            ),
        ),
    },
    {
      method: 'GET',
      path: '/posteingang/sprachnachrichten/:id/audio',
      allow: ROLES,
      handler: (c) =>
        streamFile(c, (metadata) =>
          c.var.deps.clients
            .client('fax')
            .downloadVoicemail({ tenantId: c.var.tenantId, voicemailId: idOf(c) }, metadata),
        ),
    },
    {
      method: 'POST',
      path: '/posteingang/faxe/:id/erledigt',
      allow: ROLES,
      handler: async (c) => {
        await api(c).fax.markFaxHandled({ tenantId: c.var.tenantId, faxId: idOf(c) });
        return c.redirect(backTo(String((await c.req.parseBody())['next'] ?? '')), 303);
      },
    },
    {
      method: 'POST',
      path: '/posteingang/sprachnachrichten/:id/erledigt',
      allow: ROLES,
      handler: async (c) => {
        await api(c).fax.markVoicemailHandled({ tenantId: c.var.tenantId, voicemailId: idOf(c) });
        return c.redirect(backTo(String((await c.req.parseBody())['next'] ?? '')), 303);
      },
    },
    {
      method: 'GET',
      path: '/api/inbox',
      allow: ROLES,
      handler: async (c) => {
        const data = await load(
          c,
          filterOf((name) => c.req.query(name)),
        );
        return c.json({
          faxes: data.faxes.map((fax) => faxServiceV1.Fax.toJSON(fax)),
          nextFaxPage: data.nextFaxPage,
          voicemails: data.voicemails.map((voicemail) => faxServiceV1.Voicemail.toJSON(voicemail)),
          nextVoicemailPage: data.nextVoicemailPage,
        });
      },
    },
    {
      method: 'POST',
      path: '/api/inbox/faxes/:id/handled',
      allow: ROLES,
      handler: async (c) => {
        const { fax } = await api(c).fax.markFaxHandled({ tenantId: c.var.tenantId, faxId: idOf(c) });
        return c.json({ fax: fax && faxServiceV1.Fax.toJSON(fax) });
      },
    },
    {
      method: 'POST',
      path: '/api/inbox/voicemails/:id/handled',
      allow: ROLES,
      handler: async (c) => {
        const { voicemail } = await api(c).fax.markVoicemailHandled({
          tenantId: c.var.tenantId,
          voicemailId: idOf(c),
        });
        return c.json({ voicemail: voicemail && faxServiceV1.Voicemail.toJSON(voicemail) });
      },
    },
  ],
};

/** Back to the inbox as it was filtered; only a path of this page, never another site. */
function backTo(next: string): string {
  const path = /^\/posteingang(\?[\w=&%-]*)?$/.test(next) ? next : '/posteingang';
  return `${path}${path.includes('?') ? '&' : '?'}erledigt=1`;
}
