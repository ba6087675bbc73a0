import { type directoryServiceV1, directoryV1 } from '@switchboard/proto';
import type { PoolNumberRequest, PoolStatus } from './number-pools.js';
import { WEEKDAYS, type Department, type PhoneNumber, type Site, type Staff, type Tenant } from './model.js';

// gRPC messages ↔ model. Going in, unset enums and messages become `undefined` so the schema's
// defaults or "required" errors apply; the schema then validates everything.

type EnumCodec = { toJSON(value: number): string; fromJSON(value: unknown): number };

/** `NUMBER_KIND_DIRECT_DIAL_RANGE` ↔ `direct-dial-range`. */
function enumMapping(codec: EnumCodec, prefix: string) {
  return {
    toModel(value: number): string | undefined {
      if (value === 0) return undefined;
      const name = codec.toJSON(value);
      return name === 'UNRECOGNIZED' ? name : name.slice(prefix.length).toLowerCase().replaceAll('_', '-');
    },
    fromModel(value: string): number {
      return codec.fromJSON(prefix + value.toUpperCase().replaceAll('-', '_'));
    },
  };
}

const numberKind = enumMapping(
  { toJSON: directoryV1.numberKindToJSON, fromJSON: directoryV1.numberKindFromJSON },
  'NUMBER_KIND_',
);
const entryPointKind = enumMapping(
  { toJSON: directoryV1.entryPointKindToJSON, fromJSON: directoryV1.entryPointKindFromJSON },
  'ENTRY_POINT_KIND_',
);
const strategy = enumMapping(
  { toJSON: directoryV1.strategyToJSON, fromJSON: directoryV1.strategyFromJSON },
  'STRATEGY_',
);
const overflowKind = enumMapping(
  { toJSON: directoryV1.overflowKindToJSON, fromJSON: directoryV1.overflowKindFromJSON },
  'OVERFLOW_KIND_',
);

const openingHoursIn = (intervals: directoryV1.OpeningInterval[]) =>
  intervals.map((interval) => ({ day: WEEKDAYS[interval.day - 1], from: interval.from, to: interval.to }));
const openingHoursOut = (intervals: Site['openingHours']): directoryV1.OpeningInterval[] =>
  intervals.map((interval) => ({ day: WEEKDAYS.indexOf(interval.day) + 1, from: interval.from, to: interval.to }));

export const tenantIn = (tenant: directoryV1.Tenant): unknown => ({
  ...tenant,
  // Proto3 cannot tell 0 from unset: 0 days means the default (90), as the proto says.
  privacy: tenant.privacy && { ...tenant.privacy, retentionDays: tenant.privacy.retentionDays || undefined },
});
export const tenantOut = (tenant: Tenant): directoryV1.Tenant => ({ ...tenant });

export const siteIn = ({ outboundOverride, ...site }: directoryV1.Site): unknown => ({
  ...site,
  openingHours: openingHoursIn(site.openingHours),
  // Left out when unset: MongoDB would store an undefined field as null.
  ...(outboundOverride ? { outboundOverride } : {}),
});
export const siteOut = (site: Site): directoryV1.Site => ({
  ...site,
  openingHours: openingHoursOut(site.openingHours),
  outboundOverride: site.outboundOverride,
});

export const numberIn = (number: directoryV1.PhoneNumber): unknown => ({
  ...number,
  kind: numberKind.toModel(number.kind),
  entryPoint: number.entryPoint && {
    kind: entryPointKind.toModel(number.entryPoint.kind),
    target: number.entryPoint.target,
  },
});
export const numberOut = (number: PhoneNumber): directoryV1.PhoneNumber => ({
  ...number,
  kind: numberKind.fromModel(number.kind),
  entryPoint: { kind: entryPointKind.fromModel(number.entryPoint.kind), target: number.entryPoint.target },
});

export const departmentIn = (department: directoryV1.Department): unknown => ({
  ...department,
  strategy: strategy.toModel(department.strategy),
  // Proto3 cannot tell 0 from unset; a ring timeout of 0 would never ring, so 0 means the default.
  ringTimeoutSeconds: department.ringTimeoutSeconds || undefined,
  overflow: department.overflow && {
    kind: overflowKind.toModel(department.overflow.kind),
    target: department.overflow.target,
  },
  closedTarget: department.closedTarget && {
    kind: overflowKind.toModel(department.closedTarget.kind),
    target: department.closedTarget.target,
  },
  openingHours: openingHoursIn(department.openingHours),
});
export const departmentOut = (department: Department): directoryV1.Department => ({
  ...department,
  strategy: strategy.fromModel(department.strategy),
  overflow: { kind: overflowKind.fromModel(department.overflow.kind), target: department.overflow.target },
  closedTarget: {
    kind: overflowKind.fromModel(department.closedTarget.kind),
    target: department.closedTarget.target,
  },
  openingHours: openingHoursOut(department.openingHours),
});

export const staffIn = (staff: directoryV1.Staff): unknown => ({ ...staff });
export const staffOut = (staff: Staff): directoryV1.Staff => ({ ...staff });

/** A request for pool numbers: the new numbers' kind and entry point in the model's terms. */
export const poolNumberRequestIn = (request: directoryServiceV1.RequestPoolNumbersRequest): PoolNumberRequest => ({
  poolId: request.poolId,
  count: request.count,
  number: request.number,
  kind: numberKind.toModel(request.kind),
  siteId: request.siteId,
  entryPoint: request.entryPoint && {
    kind: entryPointKind.toModel(request.entryPoint.kind),
    target: request.entryPoint.target,
  },
});

export const poolStatusOut = (status: PoolStatus): directoryServiceV1.NumberPoolStatus => ({ ...status });
