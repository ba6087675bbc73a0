import { NumberBlockError, formatNumberBlock, parseNumberBlock } from '@switchboard/numbering';
import { directoryServiceV1, directoryV1 } from '@switchboard/proto';
import { CsrfField, ErrorSummary, Field, Select, type FieldErrors } from '../../components.js';
import type { PortalContext } from '../../context.js';
import { PortalError } from '../../errors.js';
import { messages } from './messages.js';
import { translator, type Translate } from '../../i18n.js';
import { commonText, render } from '../../render.js';
import { api, sessionOf, type PortalPage } from '../../routes.js';

// The tenant's number pools: the provider's operator assigns and deletes them (AssignNumberPool,
// DeleteNumberPool) for the tenant they chose; admins (and operators) take new numbers from them
// with a target and give one back after a confirmation that says what it led to. The directory
// decides and audits; its refusals are shown next to the field they concern.

const ROLES = ['admin', 'operator'] as const;
const PROVIDER = ['operator'] as const;
const { EntryPointKind, NumberKind } = directoryV1;

type T = Translate<keyof (typeof messages)['de']>;
type TargetKind = 'department' | 'ivr-menu' | 'fax-department' | 'extension';

const entryPointKind = (kind: TargetKind) =>
  directoryV1.entryPointKindFromJSON(`ENTRY_POINT_KIND_${kind.toUpperCase().replaceAll('-', '_')}`);
const kindName = (kind: directoryV1.EntryPointKind): TargetKind =>
  directoryV1
    .entryPointKindToJSON(kind)
    .slice('ENTRY_POINT_KIND_'.length)
    .toLowerCase()
    .replaceAll('_', '-') as TargetKind;

/** `department:bauamt` → the entry point; undefined for anything else. */
export function parseTarget(value: string): directoryV1.EntryPoint | undefined {
  const match = /^(department|ivr-menu|fax-department|extension):([A-Za-z0-9_.-]{1,64})$/.exec(value);
  if (!match) return undefined;
  return { kind: entryPointKind(match[1] as TargetKind), target: match[2]! };
}

export interface PoolRequestForm {
  count: string;
  number: string;
  target: string;
  siteId: string;
}

/** The directory's request for the form, or what is wrong with the form itself (message keys). */
export function poolNumbersRequest(
  tenantId: string,
  form: PoolRequestForm,
): {
  request?: directoryServiceV1.RequestPoolNumbersRequest;
  errors: Partial<Record<keyof PoolRequestForm, keyof (typeof messages)['de']>>;
} {
  const errors: Partial<Record<keyof PoolRequestForm, keyof (typeof messages)['de']>> = {};
  const entryPoint = parseTarget(form.target);
  if (!entryPoint) errors.target = 'badTarget';
  if ((form.count === '') === (form.number === '')) errors.count = 'countOrNumber';
  const count = form.count === '' ? 0 : Number(form.count);
  if (form.count !== '' && (!Number.isInteger(count) || count < 1 || count > 100)) errors.count = 'badCount';
  if (Object.keys(errors).length > 0) return { errors };
  return {
    errors,
    request: directoryServiceV1.RequestPoolNumbersRequest.fromPartial({
      tenantId,
      count,
      number: form.number,
      kind:
        entryPoint!.kind === EntryPointKind.ENTRY_POINT_KIND_FAX_DEPARTMENT
          ? NumberKind.NUMBER_KIND_FAX
          : NumberKind.NUMBER_KIND_MAIN,
      siteId: form.siteId,
      entryPoint,
    }),
  };
}

/**
 * Which field a directory refusal concerns (its messages name the field first, e.g.
 * `number: +49… is not in the tenant's pools`, `numbers[+49…].entryPoint.target: no department`).
 */
export function fieldOfRefusal(reason: string, form: PoolRequestForm): keyof PoolRequestForm {
  if (/entryPoint/.test(reason)) return 'target';
  if (/siteId/.test(reason)) return 'siteId';
  if (/^count:/.test(reason)) return 'count';
  if (/^number\b/.test(reason)) return 'number';
  return form.number ? 'number' : 'count';
}

export interface PoolAssignForm {
  poolId: string;
  name: string;
  blocks: string;
}

type MessageKey = keyof (typeof messages)['de'];

/**
 * The directory's AssignNumberPool request for the form, or what is wrong with it: message keys,
 * or for a malformed block the shared parser's own words (`+494624720-1..99: "1" and "99" must
 * have as many digits`). Blocks are separated by commas, spaces or new lines.
 */
export function poolAssignment(
  tenantId: string,
  form: PoolAssignForm,
): {
  request?: directoryServiceV1.AssignNumberPoolRequest;
  errors: Partial<Record<keyof PoolAssignForm, { key: MessageKey } | { text: string }>>;
} {
  const errors: Partial<Record<keyof PoolAssignForm, { key: MessageKey } | { text: string }>> = {};
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(form.poolId)) errors.poolId = { key: 'badPoolId' };
  if (form.name.length > 100) errors.name = { key: 'badPoolName' };
  const texts = form.blocks.split(/[\s,;]+/).filter(Boolean);
  const blocks: directoryV1.NumberBlock[] = [];
  const problems: string[] = [];
  for (const text of texts) {
    try {
      blocks.push(parseNumberBlock(text));
    } catch (error) {
      if (!(error instanceof NumberBlockError)) throw error;
      problems.push(error.message);
    }
  }
  if (texts.length === 0) errors.blocks = { key: 'noBlocks' };
  else if (problems.length > 0) errors.blocks = { text: problems.join('; ') };
  if (Object.keys(errors).length > 0) return { errors };
  return {
    errors,
    request: directoryServiceV1.AssignNumberPoolRequest.fromPartial({
      tenantId,
      pool: { poolId: form.poolId, name: form.name, blocks },
    }),
  };
}

/** Which field of the assignment a directory refusal concerns (`pool.blocks[0]: overlaps …`). */
export function fieldOfAssignRefusal(reason: string): keyof PoolAssignForm {
  if (/poolId/.test(reason)) return 'poolId';
  if (/^pool\.name/.test(reason)) return 'name';
  return 'blocks';
}

/** The refusal's reason when the directory said no to the input (400), else rethrown. */
function refusal(error: unknown): string {
  if (error instanceof PortalError && error.status === 400) return String(error.values['reason'] ?? error.message);
  throw error;
}

interface Targets {
  options: { value: string; label: string }[];
  sites: { value: string; label: string }[];
  describe(entryPoint: directoryV1.EntryPoint | undefined): string;
}

async function targets(c: PortalContext, t: T): Promise<Targets> {
  const tenantId = c.var.tenantId;
  const [{ departments }, { sites }, menus] = await Promise.all([
    api(c).directory.listDepartments({ tenantId }),
    api(c).directory.listSites({ tenantId }),
    // Voice menus are the ivr service's; without it the page still offers departments.
    api(c)
      .ivr.listMenus({ tenantId })
      .then(({ menus }) => menus.filter((menu) => menu.entry))
      .catch((error: unknown) => {
        if (error instanceof PortalError && error.status === 503) return [];
        throw error;
      }),
  ]);
  const names = new Map<string, string>([
    ...departments.map((department) => [`department:${department.departmentId}`, department.name] as const),
    ...departments.map((department) => [`fax-department:${department.departmentId}`, department.name] as const),
    ...menus.map((menu) => [`ivr-menu:${menu.menuId}`, menu.name] as const),
  ]);
  const label = (value: string) => {
    const [kind, ...rest] = value.split(':');
    return `${t(`kind.${kind as TargetKind}`)}: ${names.get(value) ?? rest.join(':')}`;
  };
  const values = [
    ...menus.map((menu) => `ivr-menu:${menu.menuId}`),
    ...departments.map((department) => `department:${department.departmentId}`),
    ...departments.map((department) => `fax-department:${department.departmentId}`),
  ];
  return {
    options: values.map((value) => ({ value, label: label(value) })),
    sites: sites.map((site) => ({ value: site.siteId, label: site.name })),
    describe: (entryPoint) => (entryPoint ? label(`${kindName(entryPoint.kind)}:${entryPoint.target}`) : '–'),
  };
}

interface PageState {
  form?: PoolRequestForm;
  errors?: FieldErrors;
  status?: string;
  assignForm?: PoolAssignForm;
  assignErrors?: FieldErrors;
  /** The directory's refusal to delete a pool, shown beside that pool's button. */
  deleteError?: { poolId: string; reason: string };
}

async function poolsPage(c: PortalContext, state: PageState = {}): Promise<Response> {
  const t = translator(messages, c.var.language);
  const common = commonText(c);
  const tenantId = c.var.tenantId;
  const [{ pools }, choices] = await Promise.all([api(c).directory.listNumberPools({ tenantId }), targets(c, t)]);
  const form = state.form ?? { count: '1', number: '', target: choices.options[0]?.value ?? '', siteId: '' };
  const errors = state.errors ?? {};
  const labels = { count: t('count'), number: t('number'), target: t('target'), siteId: t('site') };
  const csrf = sessionOf(c).csrfToken;
  const provider = sessionOf(c).user.role === 'operator';
  const assignForm = state.assignForm ?? { poolId: '', name: '', blocks: '' };
  const assignErrors = state.assignErrors ?? {};
  const assignLabels = { poolId: t('poolId'), name: t('poolName'), blocks: t('blocks') };
  const deleteError = state.deleteError;
  const failed = Object.keys(errors).length + Object.keys(assignErrors).length > 0 || deleteError;
  return render(c, {
    title: t('title'),
    status: state.status,
    httpStatus: failed ? 422 : 200,
    body: (
      <>
        <p>{t('intro')}</p>
        <h2>{t('pools')}</h2>
        {pools.length === 0 ? (
          <p>{t('noPools')}</p>
        ) : (
          <table>
            <caption>{t('pools')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('pool')}</th>
                <th scope="col">{t('blocks')}</th>
                <th scope="col">{t('size')}</th>
                <th scope="col">{t('inUse')}</th>
                {provider ? <th scope="col">{t('action')}</th> : ''}
              </tr>
            </thead>
            <tbody>
              {pools.map((status) => (
                <tr>
                  <th scope="row">{status.pool!.name || status.pool!.poolId}</th>
                  <td>{status.pool!.blocks.map(formatNumberBlock).join(', ')}</td>
                  <td>
                    {status.size} ({status.free} {t('free')})
                  </td>
                  <td>
                    {status.inUse.length === 0 ? (
                      '–'
                    ) : (
                      <ul class="plain">
                        {status.inUse.map((number) => (
                          <li>
                            {number}{' '}
                            <a
                              href={`/nummern/pool/freigeben?number=${encodeURIComponent(number)}`}
                              aria-label={t('releaseNumber', { number })}
                            >
                              {t('release')}
                            </a>
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  {provider ? (
                    <td>
                      {deleteError?.poolId === status.pool!.poolId ? (
                        <p class="error" id="field-deletePool-error">
                          {deleteError.reason}
                        </p>
                      ) : (
                        ''
                      )}
                      <form method="post" action="/nummern/pool/loeschen">
                        <CsrfField token={csrf} />
                        <input type="hidden" name="poolId" value={status.pool!.poolId} />
                        <button
                          type="submit"
                          aria-describedby={
                            deleteError?.poolId === status.pool!.poolId ? 'field-deletePool-error' : undefined
                          }
                        >
                          {t('deletePool', { pool: status.pool!.name || status.pool!.poolId })}
                        </button>
                      </form>
                    </td>
                  ) : (
                    ''
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {pools.length === 0 ? (
          ''
        ) : (
          <section aria-labelledby="anfordern">
            <h2 id="anfordern">{t('requestTitle')}</h2>
            <ErrorSummary
              title={common('formHasErrors', { count: Object.keys(errors).length })}
              errors={errors}
              labels={labels}
            />
            <form method="post" action="/nummern/pool/anfordern">
              <CsrfField token={csrf} />
              <Field
                name="count"
                label={labels.count}
                type="number"
                min={1}
                max={100}
                value={form.count}
                hint={t('countHint')}
                error={errors['count']}
              />
              <Field
                name="number"
                label={labels.number}
                type="tel"
                value={form.number}
                hint={t('numberHint')}
                error={errors['number']}
              />
              <Select
                name="target"
                label={labels.target}
                value={form.target}
                options={choices.options}
                hint={t('targetHint')}
                error={errors['target']}
              />
              <Select
                name="siteId"
                label={labels.siteId}
                value={form.siteId}
                options={[{ value: '', label: t('siteNone') }, ...choices.sites]}
                error={errors['siteId']}
              />
              <button type="submit">{t('submitRequest')}</button>
            </form>
          </section>
        )}
        {provider ? (
          <section aria-labelledby="zuweisen">
            <h2 id="zuweisen">{t('assignTitle', { tenant: tenantId })}</h2>
            <ErrorSummary
              title={common('formHasErrors', { count: Object.keys(assignErrors).length })}
              errors={assignErrors}
              labels={assignLabels}
            />
            <form method="post" action="/nummern/pool/zuweisen">
              <CsrfField token={csrf} />
              <Field
                name="poolId"
                label={assignLabels.poolId}
                value={assignForm.poolId}
                hint={t('poolIdHint')}
                error={assignErrors['poolId']}
                required
              />
              <Field name="name" label={assignLabels.name} value={assignForm.name} error={assignErrors['name']} />
              <Field
                name="blocks"
                label={assignLabels.blocks}
                value={assignForm.blocks}
                hint={t('blocksHint')}
                error={assignErrors['blocks']}
                required
              />
              <button type="submit">{t('submitAssign')}</button>
            </form>
          </section>
        ) : (
          ''
        )}
      </>
    ),
  });
}

async function releaseConfirmation(c: PortalContext, number: string, error?: string): Promise<Response> {
  const t = translator(messages, c.var.language);
  const common = commonText(c);
  const tenantId = c.var.tenantId;
  const [{ numbers }, choices] = await Promise.all([api(c).directory.listNumbers({ tenantId }), targets(c, t)]);
  const found = numbers.find((candidate) => candidate.number === number);
  if (!found) throw new PortalError(404, 'error.notFound', {}, `number ${number} not found`);
  const target = choices.describe(found.entryPoint);
  // The directory refuses the last number of an IVR menu or department without this confirmation.
  const last =
    found.entryPoint?.kind !== EntryPointKind.ENTRY_POINT_KIND_EXTENSION &&
    !numbers.some(
      (other) =>
        other.number !== number &&
        other.entryPoint?.kind === found.entryPoint?.kind &&
        other.entryPoint?.target === found.entryPoint?.target,
    );
  const errors: FieldErrors = error ? { confirm: error } : {};
  return render(c, {
    title: t('confirmTitle'),
    httpStatus: error ? 422 : 200,
    body: (
      <>
        <ErrorSummary
          title={common('formHasErrors', { count: Object.keys(errors).length })}
          errors={errors}
          labels={{ confirm: t('confirmTitle') }}
        />
        <p>{t('confirmText', { number, target })}</p>
        {last ? (
          <p class="warning" id="warnung">
            {t('lastNumber', { target })}
          </p>
        ) : (
          ''
        )}
        <form method="post" action="/nummern/pool/freigeben">
          <CsrfField token={sessionOf(c).csrfToken} />
          <input type="hidden" name="number" value={number} />
          <div class={error ? 'field field-invalid' : 'field'}>
            {error ? (
              <p class="error" id="field-confirm-error">
                {error}
              </p>
            ) : (
              ''
            )}
            <input
              type="checkbox"
              id="field-confirm"
              name="confirm"
              value="yes"
              required
              aria-invalid={error ? 'true' : undefined}
              aria-describedby={
                [last ? 'warnung' : '', error ? 'field-confirm-error' : ''].filter(Boolean).join(' ') || undefined
              }
            />{' '}
            <label for="field-confirm">
              {last ? t('confirmUnreachable', { target }) : t('releaseNumber', { number })}
            </label>
          </div>
          <button type="submit">{t('submitRelease')}</button> <a href="/nummern/pool">{t('back')}</a>
        </form>
      </>
    ),
  });
}

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
const errorTexts = (
  t: T,
  errors: Partial<Record<string, { key: MessageKey } | { text: string }>>,
): Record<string, string> =>
  Object.fromEntries(
    Object.entries(errors).map(([field, error]) => [field, error && 'key' in error ? t(error.key) : error!.text]),
  );

export const numbersPoolPage: PortalPage = {
  name: 'numbers-pool',
  nav: { path: '/nummern/pool', label: { de: messages.de.label, en: messages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/nummern/pool',
      allow: ROLES,
      handler: (c) => {
        const t = translator(messages, c.var.language);
        const released = c.req.query('freigegeben');
        return poolsPage(c, { status: released ? t('released', { number: released }) : undefined });
      },
    },
    {
      method: 'POST',
      path: '/nummern/pool/anfordern',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const body = await c.req.parseBody();
        const form = {
          count: text(body['count']),
          number: text(body['number']),
          target: text(body['target']),
          siteId: text(body['siteId']),
        };
        // Both filled in: the particular number wins over the prefilled count.
        const checked = poolNumbersRequest(c.var.tenantId, form.number ? { ...form, count: '' } : form);
        if (!checked.request) {
          const errors = Object.fromEntries(Object.entries(checked.errors).map(([field, key]) => [field, t(key)]));
          return poolsPage(c, { form, errors });
        }
        try {
          const { numbers } = await api(c).directory.requestPoolNumbers(checked.request);
          return poolsPage(c, {
            status: t('requested', { numbers: numbers.map((number) => number.number).join(', ') }),
          });
        } catch (error) {
          const reason = refusal(error);
          return poolsPage(c, { form, errors: { [fieldOfRefusal(reason, form)]: reason } });
        }
      },
    },
    {
      method: 'POST',
      path: '/nummern/pool/zuweisen',
      allow: PROVIDER,
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const body = await c.req.parseBody();
        const assignForm = { poolId: text(body['poolId']), name: text(body['name']), blocks: text(body['blocks']) };
        const checked = poolAssignment(c.var.tenantId, assignForm);
        if (!checked.request) return poolsPage(c, { assignForm, assignErrors: errorTexts(t, checked.errors) });
        try {
          const { pool } = await api(c).directory.assignNumberPool(checked.request);
          return poolsPage(c, {
            status: t('assigned', { pool: assignForm.poolId, size: pool!.size, free: pool!.free }),
          });
        } catch (error) {
          const reason = refusal(error);
          return poolsPage(c, { assignForm, assignErrors: { [fieldOfAssignRefusal(reason)]: reason } });
        }
      },
    },
    {
      method: 'POST',
      path: '/nummern/pool/loeschen',
      allow: PROVIDER,
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const poolId = text((await c.req.parseBody())['poolId']);
        try {
          await api(c).directory.deleteNumberPool({ tenantId: c.var.tenantId, poolId });
        } catch (error) {
          return poolsPage(c, { deleteError: { poolId, reason: refusal(error) } });
        }
        return poolsPage(c, { status: t('deleted', { pool: poolId }) });
      },
    },
    {
      method: 'GET',
      path: '/nummern/pool/freigeben',
      allow: ROLES,
      handler: (c) => releaseConfirmation(c, text(c.req.query('number'))),
    },
    {
      method: 'POST',
      path: '/nummern/pool/freigeben',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const body = await c.req.parseBody();
        const number = text(body['number']);
        if (body['confirm'] !== 'yes') return releaseConfirmation(c, number, t('confirmRequired'));
        try {
          // The page asked for the confirmation the directory needs for a last number.
          await api(c).directory.releasePoolNumber({ tenantId: c.var.tenantId, number, allowUnreachable: true });
        } catch (error) {
          return releaseConfirmation(c, number, refusal(error));
        }
        return c.redirect(`/nummern/pool?freigegeben=${encodeURIComponent(number)}`, 303);
      },
    },
    {
      method: 'GET',
      path: '/api/number-pools',
      allow: ROLES,
      handler: async (c) => {
        const { pools } = await api(c).directory.listNumberPools({ tenantId: c.var.tenantId });
        return c.json({ pools: pools.map((pool) => directoryServiceV1.NumberPoolStatus.toJSON(pool)) });
      },
    },
    {
      method: 'POST',
      path: '/api/number-pools',
      allow: PROVIDER,
      handler: async (c) => {
        const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown>;
        const blocks = body['blocks'];
        const form = {
          poolId: text(body['poolId']),
          name: text(body['name']),
          blocks: Array.isArray(blocks) ? blocks.map(text).join(',') : text(blocks),
        };
        const checked = poolAssignment(c.var.tenantId, form);
        if (!checked.request) {
          const fields = errorTexts(translator(messages, c.var.language), checked.errors);
          return c.json({ error: 'invalid request', fields }, 422);
        }
        const { pool } = await api(c).directory.assignNumberPool(checked.request);
        return c.json({ pool: directoryServiceV1.NumberPoolStatus.toJSON(pool!) });
      },
    },
    {
      method: 'DELETE',
      path: '/api/number-pools/:poolId',
      allow: PROVIDER,
      handler: async (c) => {
        const poolId = c.req.param('poolId') ?? '';
        await api(c).directory.deleteNumberPool({ tenantId: c.var.tenantId, poolId });
        return c.json({ deleted: poolId });
      },
    },
    {
      method: 'POST',
      path: '/api/number-pools/request',
      allow: ROLES,
      handler: async (c) => {
        const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown>;
        const form = {
          count: body['count'] === undefined ? '' : String(body['count']),
          number: text(body['number']),
          target: text(body['target']),
          siteId: text(body['siteId']),
        };
        const checked = poolNumbersRequest(c.var.tenantId, form);
        if (!checked.request) {
          const t = translator(messages, c.var.language);
          const fields = Object.fromEntries(Object.entries(checked.errors).map(([field, key]) => [field, t(key)]));
          return c.json({ error: 'invalid request', fields }, 422);
        }
        const { numbers } = await api(c).directory.requestPoolNumbers(checked.request);
        return c.json({ numbers: numbers.map((number) => directoryV1.PhoneNumber.toJSON(number)) });
      },
    },
    {
      method: 'POST',
      path: '/api/number-pools/release',
      allow: ROLES,
      handler: async (c) => {
        const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown>;
        const { released } = await api(c).directory.releasePoolNumber({
          tenantId: c.var.tenantId,
          number: text(body['number']),
          allowUnreachable: body['allowUnreachable'] === true,
        });
        return c.json({ released: released && directoryV1.PhoneNumber.toJSON(released) });
      },
    },
  ],
};
