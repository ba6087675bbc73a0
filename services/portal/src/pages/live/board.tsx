import { presenceV1, type routingV1 } from '@switchboard/proto';
import type { FC } from 'hono/jsx';
import type { Language, Translate } from '../../i18n.js';
import { isAggregateOnly, serviceLevelPercent, type LiveView } from './feed.js';
import type { LiveKey } from './messages.js';

const { AgentState } = presenceV1;

/** Order of the state counts: who can take a call first, then who is busy, then who is not there. */
const STATE_ORDER = [
  AgentState.AGENT_STATE_AVAILABLE,
  AgentState.AGENT_STATE_RINGING,
  AgentState.AGENT_STATE_ON_CALL,
  AgentState.AGENT_STATE_WRAP_UP,
  AgentState.AGENT_STATE_PHONE_BUSY,
  AgentState.AGENT_STATE_UNSPECIFIED,
  AgentState.AGENT_STATE_AWAY,
  AgentState.AGENT_STATE_OFFLINE,
];

const stateKey = (state: presenceV1.AgentState) => `state.${state}` as LiveKey;

const clock = (language: Language, at: Date) =>
  new Intl.DateTimeFormat(language === 'de' ? 'de-DE' : 'en-GB', {
    timeZone: 'Europe/Berlin',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(at);

export interface BoardProps {
  view: LiveView;
  t: Translate<LiveKey>;
  language: Language;
}

/** The one-line summary, announced politely to screen readers when it changes. */
export function summaryText({ view, t }: Omit<BoardProps, 'language'>): string {
  const waiting = [...view.queues.values()].reduce((sum, entries) => sum + entries.length, 0);
  if (isAggregateOnly(view)) return t('summaryAggregate', { waiting });
  const available = [...view.agents.values()].filter(
    (agent) =>
      agent.state === AgentState.AGENT_STATE_AVAILABLE &&
      agent.departments.some((membership) => view.departments.some((d) => d.departmentId === membership.departmentId)),
  ).length;
  return t('summary', { waiting, available });
}

/**
 * Every visible department: its agents' states counted and listed, and its waiting callers in
 * queue order. Rendered on the server for the first page and for every update the stream sends.
 */
/** A department's service level today: the share, then the counts it comes from. */
export function serviceLevelText(level: routingV1.DepartmentServiceLevel | undefined, t: Translate<LiveKey>): string {
  const percent = serviceLevelPercent(level);
  if (!level || percent === undefined) return t('serviceLevelNone');
  return t('serviceLevel', {
    percent,
    within: level.answeredWithinThreshold,
    offered: level.offered,
    seconds: level.thresholdSeconds,
    answered: level.answered,
    abandoned: level.abandoned,
    left: level.leftUnanswered,
  });
}

export const Board: FC<BoardProps> = ({ view, t, language }) => (
  <>
    {isAggregateOnly(view) ? <p class="notice">{t('aggregateOnly')}</p> : ''}
    {view.departments.length === 0 ? <p>{t('noDepartments')}</p> : <p>{t('serviceLevelExplained')}</p>}
    {view.departments.map((department) => {
      const agents = [...view.agents.values()]
        .filter((agent) => agent.departments.some((m) => m.departmentId === department.departmentId))
        .sort(
          (a, b) =>
            STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) ||
            a.displayName.localeCompare(b.displayName, 'de'),
        );
      const waiting = view.queues.get(department.departmentId) ?? [];
      const counts = STATE_ORDER.flatMap((state) => {
        const count = agents.filter((agent) => agent.state === state).length;
        return count ? [`${count} ${t(stateKey(state))}`] : [];
      });
      const headingId = `abteilung-${department.departmentId}`;
      return (
        <section class="live-department" aria-labelledby={headingId}>
          <h2 id={headingId}>{department.name}</h2>
          <p>
            <strong>{t('waitingCount', { count: waiting.length })}</strong>
            {counts.length ? ` · ${counts.join(' · ')}` : ''}
          </p>
          <p class="service-level">{serviceLevelText(view.serviceLevels.get(department.departmentId), t)}</p>
          {waiting.length ? (
            <table>
              <caption>{t('waitingCaption', { department: department.name })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('position')}</th>
                  <th scope="col">{t('waitingSince')}</th>
                  <th scope="col">{t('connecting')}</th>
                </tr>
              </thead>
              <tbody>
                {waiting.map((entry) => (
                  <tr>
                    <td>{entry.position}</td>
                    <td>{entry.enqueuedAt ? clock(language, entry.enqueuedAt) : ''}</td>
                    <td>{entry.ringing ? t('ringing') : t('queued')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>{t('noneWaiting')}</p>
          )}
          {agents.length ? (
            <table>
              <caption>{t('agentsCaption', { department: department.name })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('name')}</th>
                  <th scope="col">{t('state')}</th>
                </tr>
              </thead>
              <tbody>
                {agents.map((agent) => (
                  <tr>
                    <td>{agent.displayName || agent.agentId}</td>
                    <td>
                      <span class={`agent-state agent-state-${agent.state}`}>{t(stateKey(agent.state))}</span>
                      {agent.stateSince ? ` (${t('since')} ${clock(language, agent.stateSince)})` : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>{t('noAgents')}</p>
          )}
        </section>
      );
    })}
  </>
);
