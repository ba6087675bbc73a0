import type { Session } from '../../auth/sessions.js';
import { CsrfField } from '../../components.js';
import { localPath } from '../../core-routes.js';
import type { PortalContext } from '../../context.js';
import { translator } from '../../i18n.js';
import { PORTAL_ROLES } from '../../roles.js';
import type { PortalPage } from '../../routes.js';
import { berlinTime } from '../../time.js';
import { messages } from './messages.js';

// WCAG 2.1 SC 2.2.1 (Timing Adjustable): the idle end of a session is a time limit, so the user is
// warned before it and can extend it with one action. The warning is in every signed-in page;
// a small script shows it and extends over the JSON route, the form works without the script.

/** The warning shows this long before the session ends (at least the 20 s 2.2.1 asks for). */
export const WARN_BEFORE_MS = 2 * 60_000;

/** The session's end as the browser needs it: milliseconds left (no dependence on its clock). */
function ending(c: PortalContext, session: Session) {
  const endsAt = c.var.deps.sessions.endsAt(session);
  return { endsAt, remainingMs: Math.max(0, endsAt.getTime() - c.var.deps.now().getTime()) };
}

/** The warning dialog, hidden until the script shows it `WARN_BEFORE_MS` before the end. */
export function SessionWarning({ c, session }: { c: PortalContext; session: Session }) {
  const t = translator(messages, c.var.language);
  const { endsAt, remainingMs } = ending(c, session);
  const next = c.req.path + (new URL(c.req.url).search || '');
  return (
    <>
      <section
        id="session-warning"
        class="notice session-warning"
        role="alertdialog"
        aria-labelledby="session-warning-title"
        aria-describedby="session-warning-text"
        data-remaining-ms={String(remainingMs)}
        data-warn-before-ms={String(WARN_BEFORE_MS)}
        data-extend={'/api/session/extend'}
        data-csrf={session.csrfToken}
        data-ended={t('ended')}
        data-final={t('final')}
        data-extended={t('extended')}
        data-ending={t('ending')}
        hidden
      >
        <h2 id="session-warning-title">{t('title')}</h2>
        <p id="session-warning-text">{t('ending', { time: berlinTime(endsAt) })}</p>
        <form method="post" action="/sitzung/verlaengern">
          <CsrfField token={session.csrfToken} />
          <input type="hidden" name="next" value={next} />
          <button type="submit">{t('extend')}</button>
        </form>
        <p>
          <a href={`/anmelden?next=${encodeURIComponent(next)}`} hidden>
            {t('signIn')}
          </a>
        </p>
      </section>
      <p id="session-status" class="visually-hidden" role="status"></p>
      <script src="/static/session.js" defer></script>
    </>
  );
}

/**
 * Shows the warning in time, extends over the JSON route (the new end comes back), and once the
 * end has passed says so with a link to sign in. Times of day are the server's (Berlin).
 */
const SESSION_SCRIPT = `(() => {
  const box = document.getElementById('session-warning');
  const status = document.getElementById('session-status');
  if (!box || !status) return;
  const form = box.querySelector('form');
  const text = document.getElementById('session-warning-text');
  const signIn = box.querySelector('a');
  const warnBefore = Number(box.dataset.warnBeforeMs);
  let timers = [];
  const schedule = (remaining) => {
    timers.forEach(clearTimeout);
    timers = [
      setTimeout(() => { box.hidden = false; form.querySelector('button').focus(); }, Math.max(0, remaining - warnBefore)),
      setTimeout(() => { text.textContent = box.dataset.ended; form.hidden = true; signIn.hidden = false; box.hidden = false; signIn.focus(); }, remaining),
    ];
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const response = await fetch(box.dataset.extend, { method: 'POST', headers: { 'X-CSRF-Token': box.dataset.csrf, Accept: 'application/json' } });
    if (!response.ok) { form.submit(); return; }
    const result = await response.json();
    if (result.final) { text.textContent = box.dataset.final; form.hidden = true; schedule(result.remainingMs); box.hidden = false; return; }
    box.hidden = true;
    text.textContent = box.dataset.ending.replace('{time}', result.endsAtText);
    status.textContent = box.dataset.extended;
    schedule(result.remainingMs);
  });
  schedule(Number(box.dataset.remainingMs));
})();
`;

/** Extends the signed-in user's session; whether it can grow any more (its absolute end). */
async function extend(c: PortalContext) {
  const session = c.var.session!;
  const endsAt = await c.var.deps.sessions.extend(session, c.var.deps.now());
  return {
    endsAt,
    remainingMs: Math.max(0, endsAt.getTime() - c.var.deps.now().getTime()),
    final: endsAt.getTime() >= session.expiresAt.getTime(),
  };
}

export const sessionPage: PortalPage = {
  name: 'session',
  routes: [
    {
      method: 'POST',
      path: '/api/session/extend',
      allow: PORTAL_ROLES,
      tenant: false,
      handler: async (c) => {
        const { endsAt, remainingMs, final } = await extend(c);
        return c.json({ endsAt: endsAt.toISOString(), endsAtText: berlinTime(endsAt), remainingMs, final });
      },
    },
    {
      method: 'POST',
      path: '/sitzung/verlaengern',
      allow: PORTAL_ROLES,
      tenant: false,
      handler: async (c) => {
        await extend(c);
        const body = await c.req.parseBody();
        return c.redirect(localPath(typeof body['next'] === 'string' ? body['next'] : undefined), 303);
      },
    },
    {
      method: 'GET',
      path: '/static/session.js',
      allow: 'public',
      handler: (c) => {
        c.header('Content-Type', 'text/javascript; charset=utf-8');
        c.header('Cache-Control', 'public, max-age=3600');
        return c.body(SESSION_SCRIPT);
      },
    },
  ],
};
