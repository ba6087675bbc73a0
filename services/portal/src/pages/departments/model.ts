import { directoryV1 } from '@switchboard/proto';
import type { PortalContext } from '../../context.js';
import { notFound, PortalError } from '../../errors.js';
import type { FormCheck } from '../../forms.js';
import { api, assertDepartment, departmentScope } from '../../routes.js';

export const STRATEGIES = ['longest-idle', 'round-robin', 'ring-all', 'skills'] as const;
export const OVERFLOWS = ['none', 'department', 'voicemail', 'callback'] as const;
export const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type StrategyName = (typeof STRATEGIES)[number];
export type OverflowName = (typeof OVERFLOWS)[number];
export type DayName = (typeof DAYS)[number];

const { Strategy, OverflowKind, Weekday } = directoryV1;
const STRATEGY_VALUES: Record<StrategyName, directoryV1.Strategy> = {
  'longest-idle': Strategy.STRATEGY_LONGEST_IDLE,
  'round-robin': Strategy.STRATEGY_ROUND_ROBIN,
  'ring-all': Strategy.STRATEGY_RING_ALL,
  skills: Strategy.STRATEGY_SKILLS,
};
const OVERFLOW_VALUES: Record<OverflowName, directoryV1.OverflowKind> = {
  none: OverflowKind.OVERFLOW_KIND_NONE,
  department: OverflowKind.OVERFLOW_KIND_DEPARTMENT,
  voicemail: OverflowKind.OVERFLOW_KIND_VOICEMAIL,
  callback: OverflowKind.OVERFLOW_KIND_CALLBACK,
};
const DAY_VALUES: Record<DayName, directoryV1.Weekday> = {
  monday: Weekday.WEEKDAY_MONDAY,
  tuesday: Weekday.WEEKDAY_TUESDAY,
  wednesday: Weekday.WEEKDAY_WEDNESDAY,
  thursday: Weekday.WEEKDAY_THURSDAY,
  friday: Weekday.WEEKDAY_FRIDAY,
  saturday: Weekday.WEEKDAY_SATURDAY,
  sunday: Weekday.WEEKDAY_SUNDAY,
};
const nameOf = <N extends string, V>(values: Record<N, V>, value: V, fallback: N): N =>
  (Object.keys(values) as N[]).find((name) => values[name] === value) ?? fallback;

export interface DepartmentView {
  departmentId: string;
  name: string;
  siteId: string;
  strategy: StrategyName;
  ringTimeoutSeconds: number;
  wrapUpSeconds: number;
  maxWaitSeconds: number;
  overflow: { kind: OverflowName; target: string };
  /** What a caller reaches while the department is closed. */
  closedTarget: { kind: OverflowName; target: string };
  /** Higher tiers are offered a call only after the caller waited this long. */
  tierDelaySeconds: number;
  /** The key a waiting caller presses for a callback; empty = off. */
  callbackKey: string;
  members: { staffId: string; name: string; priority: number }[];
  openingHours: { day: DayName; from: string; to: string }[];
}

export function departmentView(department: directoryV1.Department, names: ReadonlyMap<string, string>): DepartmentView {
  return {
    departmentId: department.departmentId,
    name: department.name,
    siteId: department.siteId,
    // Unspecified means longest idle (directory.proto).
    strategy: nameOf(STRATEGY_VALUES, department.strategy, 'longest-idle'),
    ringTimeoutSeconds: department.ringTimeoutSeconds,
    wrapUpSeconds: department.wrapUpSeconds,
    maxWaitSeconds: department.maxWaitSeconds,
    overflow: {
      kind: nameOf(OVERFLOW_VALUES, department.overflow?.kind, 'none'),
      target: department.overflow?.target ?? '',
    },
    closedTarget: {
      kind: nameOf(OVERFLOW_VALUES, department.closedTarget?.kind, 'none'),
      target: department.closedTarget?.target ?? '',
    },
    tierDelaySeconds: department.tierDelaySeconds,
    callbackKey: department.callbackKey,
    members: department.members.map((member) => ({
      staffId: member.staffId,
      name: names.get(member.staffId) ?? member.staffId,
      priority: member.priority,
    })),
    openingHours: department.openingHours.map((interval) => ({
      day: nameOf(DAY_VALUES, interval.day, 'monday'),
      from: interval.from,
      to: interval.to,
    })),
  };
}

/** What a save may change; every field optional (the JSON API sends only what changes). */
export interface DepartmentChange {
  strategy?: StrategyName;
  ringTimeoutSeconds?: number;
  wrapUpSeconds?: number;
  maxWaitSeconds?: number;
  overflow?: { kind: OverflowName; target: string };
  closedTarget?: { kind: OverflowName; target: string };
  tierDelaySeconds?: number;
  callbackKey?: string;
  members?: { staffId: string; priority: number }[];
  openingHours?: { day: DayName; from: string; to: string }[];
}

/** A target with the target text kept only where the kind uses one (department, voicemail). */
const target = (value: { kind: OverflowName; target: string }): directoryV1.OverflowTarget => ({
  kind: OVERFLOW_VALUES[value.kind],
  target: value.kind === 'department' || value.kind === 'voicemail' ? value.target : '',
});

export function applyChange(department: directoryV1.Department, change: DepartmentChange): directoryV1.Department {
  return {
    ...department,
    strategy: change.strategy ? STRATEGY_VALUES[change.strategy] : department.strategy,
    ringTimeoutSeconds: change.ringTimeoutSeconds ?? department.ringTimeoutSeconds,
    wrapUpSeconds: change.wrapUpSeconds ?? department.wrapUpSeconds,
    maxWaitSeconds: change.maxWaitSeconds ?? department.maxWaitSeconds,
    overflow: change.overflow ? target(change.overflow) : department.overflow,
    closedTarget: change.closedTarget ? target(change.closedTarget) : department.closedTarget,
    tierDelaySeconds: change.tierDelaySeconds ?? department.tierDelaySeconds,
    callbackKey: change.callbackKey ?? department.callbackKey,
    members: change.members ?? department.members,
    openingHours: change.openingHours
      ? change.openingHours.map((interval) => ({ day: DAY_VALUES[interval.day], from: interval.from, to: interval.to }))
      : department.openingHours,
  };
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** `08:00-12:00, 14:00-16:00` → intervals of one day; undefined when malformed. */
export function parseDayHours(day: DayName, text: string): DepartmentView['openingHours'] | undefined {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const intervals: DepartmentView['openingHours'] = [];
  for (const part of parts) {
    const [from, to, ...rest] = part.split(/\s*[-–]\s*/);
    if (rest.length || !from || !to || !TIME.test(from) || !TIME.test(to) || to <= from) return undefined;
    intervals.push({ day, from, to });
  }
  return intervals;
}

export const formatDayHours = (hours: DepartmentView['openingHours'], day: DayName) =>
  hours
    .filter((interval) => interval.day === day)
    .map((interval) => `${interval.from}-${interval.to}`)
    .join(', ');

/** Reads and checks the queue settings every form and JSON change may carry. */
export function readQueueSettings(check: FormCheck, input: Record<string, unknown>): DepartmentChange {
  const change: DepartmentChange = {};
  if (input['strategy'] !== undefined) {
    const strategy = input['strategy'];
    if ((STRATEGIES as readonly unknown[]).includes(strategy)) change.strategy = strategy as StrategyName;
    else check.fail('strategy', STRATEGIES.join(', '));
  }
  if (input['ringTimeoutSeconds'] !== undefined)
    change.ringTimeoutSeconds = check.integer('ringTimeoutSeconds', input['ringTimeoutSeconds'], 5, 600);
  if (input['wrapUpSeconds'] !== undefined)
    change.wrapUpSeconds = check.integer('wrapUpSeconds', input['wrapUpSeconds'], 0, 3_600);
  if (input['maxWaitSeconds'] !== undefined)
    change.maxWaitSeconds = check.integer('maxWaitSeconds', input['maxWaitSeconds'], 0, 7_200);
  if (input['tierDelaySeconds'] !== undefined)
    change.tierDelaySeconds = check.integer('tierDelaySeconds', input['tierDelaySeconds'], 0, 3_600);
  if (input['callbackKey'] !== undefined) {
    change.callbackKey = check.text('callbackKey', input['callbackKey']);
    if (!/^[0-9*#]?$/.test(change.callbackKey)) check.fail('callbackKey', '0–9, * #');
  }
  return change;
}

/** The departments the user may see, by name: all of the tenant's, or a supervisor's own. */
export async function visibleDepartments(c: PortalContext): Promise<directoryV1.Department[]> {
  const scope = departmentScope(c);
  const directory = api(c).directory;
  const tenantId = c.var.tenantId;
  const departments = scope
    ? (
        await Promise.all(
          [...scope].map((departmentId) =>
            directory.getDepartment({ tenantId, departmentId }).then(
              (response) => response.department,
              // A department in the account's list that no longer exists is left out.
              (error: unknown) => {
                if (error instanceof PortalError && error.status === 404) return undefined;
                throw error;
              },
            ),
          ),
        )
      ).filter((department): department is directoryV1.Department => !!department)
    : (await directory.listDepartments({ tenantId })).departments;
  return departments.sort((a, b) => a.name.localeCompare(b.name, 'de'));
}

/** One department, refused (403) outside the user's departments before the directory is asked. */
export async function getDepartment(c: PortalContext, departmentId: string): Promise<directoryV1.Department> {
  assertDepartment(c, departmentId);
  const { department } = await api(c).directory.getDepartment({ tenantId: c.var.tenantId, departmentId });
  if (!department) throw notFound(`no department ${departmentId}`);
  return department;
}

/**
 * Display names of staff: the whole tenant's from the directory for those who may list staff;
 * a supervisor's from presence (their departments' agents), which the supervisor may read.
 */
export async function staffNames(c: PortalContext, departmentIds: readonly string[]): Promise<Map<string, string>> {
  const tenantId = c.var.tenantId;
  if (!departmentScope(c)) {
    const { staff } = await api(c).directory.listStaff({ tenantId });
    return new Map(staff.map((person) => [person.staffId, person.displayName]));
  }
  const names = new Map<string, string>();
  for (const departmentId of departmentIds) {
    const { agents } = await api(c).presence.listAgents({ tenantId, departmentId });
    for (const agent of agents) names.set(agent.agentId, agent.displayName);
  }
  return names;
}
