import type { routingV1 } from '@switchboard/proto';
import { streamSSE } from 'hono/streaming';
import type { PortalContext } from '../../context.js';
import { translator } from '../../i18n.js';
import { render } from '../../render.js';
import type { PortalPage } from '../../routes.js';
import { Board, summaryText } from './board.js';
import { LiveFeed, serviceLevelPercent, visibleDepartments } from './feed.js';
import { liveMessages } from './messages.js';

/** Routing has no watch API: the stream asks for the queues this often (a new caller shows within it). */
const QUEUE_POLL_MS = 1_000;
/**
 * A stream ends after this long and the browser opens a new one, which the route table checks
 * again: a session that ended or changed stops getting updates, and the agent watch never
 * outlives the user's token (minted for at least two minutes).
 */
const STREAM_LIFETIME_MS = 110_000;

/** Updates `#live-board` and `#live-summary` from the server's stream; nothing is decided here. */
const LIVE_SCRIPT = `(() => {
  const board = document.getElementById('live-board');
  const summary = document.getElementById('live-summary');
  if (!board || !summary || !('EventSource' in window)) return;
  const source = new EventSource(board.dataset.stream);
  source.addEventListener('board', (event) => { board.innerHTML = event.data; board.dataset.updated = String(Date.now()); });
  source.addEventListener('summary', (event) => { if (summary.textContent !== event.data) summary.textContent = event.data; });
})();
`;

const ROLES = ['admin', 'supervisor', 'operator'] as const;

/** Today's counts as routing gives them, and the share (null while no wait ended today). */
function serviceLevelJson(level: routingV1.DepartmentServiceLevel | undefined) {
  if (!level) return null;
  const { departmentId: _, ...counts } = level;
  return { ...counts, percent: serviceLevelPercent(level) ?? null };
}

async function boardHtml(c: PortalContext, feed: LiveFeed): Promise<string> {
  const t = translator(liveMessages, c.var.language);
  return (await (<Board view={feed.view} t={t} language={c.var.language} />).toString()) as string;
}

export const livePage: PortalPage = {
  name: 'live',
  nav: { path: '/live', label: { de: liveMessages.de.label, en: liveMessages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/live',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(liveMessages, c.var.language);
        const feed = new LiveFeed(c, await visibleDepartments(c));
        await feed.load();
        return render(c, {
          title: t('title'),
          body: (
            <>
              <p>{t('intro')}</p>
              <p id="live-summary" aria-live="polite">
                {summaryText({ view: feed.view, t })}
              </p>
              <div id="live-board" data-stream="/live/stream">
                <Board view={feed.view} t={t} language={c.var.language} />
              </div>
              <script src="/static/live.js" defer />
            </>
          ),
        });
      },
    },
    {
      method: 'GET',
      path: '/api/live',
      allow: ROLES,
      handler: async (c) => {
        const feed = new LiveFeed(c, await visibleDepartments(c));
        await feed.load();
        return c.json({
          departments: feed.departments.map((department) => ({
            ...department,
            agents: [...feed.agents.values()].filter((agent) =>
              agent.departments.some((membership) => membership.departmentId === department.departmentId),
            ),
            waiting: feed.queues.get(department.departmentId) ?? [],
            serviceLevel: serviceLevelJson(feed.serviceLevels.get(department.departmentId)),
          })),
        });
      },
    },
    {
      method: 'GET',
      path: '/live/stream',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(liveMessages, c.var.language);
        // Loaded before the stream starts: a refusal or a service that is down is a plain error
        // response, and the browser's EventSource tries again later.
        const feed = new LiveFeed(c, await visibleDepartments(c));
        await feed.load();
        return streamSSE(c, async (stream) => {
          let dirty = true;
          let failure: Error | undefined;
          const stopWatch = await feed.watchAgents(
            () => (dirty = true),
            (error) => (failure = error),
          );
          const until = Date.now() + STREAM_LIFETIME_MS;
          let lastBoard = '';
          let lastSummary = '';
          try {
            await stream.writeSSE({ event: 'hello', data: '', retry: 1_000 });
            while (!stream.aborted && !stream.closed && !failure && Date.now() < until) {
              if (await feed.pollQueues()) dirty = true;
              if (dirty) {
                dirty = false;
                const board = await boardHtml(c, feed);
                const summary = summaryText({ view: feed.view, t });
                if (board !== lastBoard) await stream.writeSSE({ event: 'board', data: board });
                if (summary !== lastSummary) await stream.writeSSE({ event: 'summary', data: summary });
                lastBoard = board;
                lastSummary = summary;
              }
              await stream.sleep(QUEUE_POLL_MS);
            }
          } catch (error) {
            failure = error as Error;
          } finally {
            stopWatch();
          }
          // The browser's EventSource opens a new stream after `retry`.
          if (failure) c.var.deps.logger.warn({ err: failure }, 'live view stream ended early; the browser reconnects');
        });
      },
    },
    {
      method: 'GET',
      path: '/static/live.js',
      allow: 'public',
      handler: (c) => {
        c.header('Content-Type', 'text/javascript; charset=utf-8');
        c.header('Cache-Control', 'public, max-age=3600');
        return c.body(LIVE_SCRIPT);
      },
    },
  ],
};
