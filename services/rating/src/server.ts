import * as grpc from '@grpc/grpc-js';
import { ratingServiceV1 } from '@switchboard/proto';
import { GrpcStatusError, type GrpcServer } from '@switchboard/service-kit';
import { billingMonthOf, isBillingMonth } from './berlin-time.js';
import { classifyNumber } from '@switchboard/numbering';
import type { RatingEngine } from './engine.js';
import type { DirectorySites } from './sites.js';
import { clockOf, DEFAULT_TARIFF, parseTariffInput, TariffValidationError, type Tariff } from './tariff.js';
import type { TariffStore } from './tariff-store.js';
import { monthUsage } from './usage.js';
import { ratingPolicy } from './policy.js';

const MAX_NUMBERS = 1000;

function invalid(details: string): GrpcStatusError {
  return new GrpcStatusError(grpc.status.INVALID_ARGUMENT, details);
}

function requireTenant(tenantId: string): void {
  if (!tenantId) throw invalid('tenant_id: required');
}

function requireMonth(month: string, fallback?: Date): string {
  if (!month && fallback) {
    // A time whose Berlin month is no YYYY-MM (e.g. past the year 9999) cannot name a month either.
    const ofTime = Number.isNaN(fallback.getTime()) ? '' : billingMonthOf(fallback);
    if (!isBillingMonth(ofTime)) throw invalid(`as_of: must be a time in a billing month, got ${String(fallback)}`);
    return ofTime;
  }
  if (!isBillingMonth(month)) throw invalid(`month: must be YYYY-MM, got "${month}"`);
  return month;
}

/** Proto int64 fields arrive as strings; a non-number becomes NaN and fails validation by field. */
const toNumber = (value: string) => (/^-?\d+$/.test(value) ? Number(value) : Number.NaN);

export function tariffInputOf(tariff: ratingServiceV1.Tariff | undefined): unknown {
  if (!tariff) throw invalid('tariff: required');
  return {
    tariffId: tariff.tariffId,
    validFrom: tariff.validFrom,
    validTo: tariff.validTo,
    prices: tariff.prices.map((price) => ({
      destinationClass: price.destinationClass,
      pricePerMinute: toNumber(price.pricePerMinute),
      firstIncrementSeconds: price.firstIncrementSeconds,
      nextIncrementSeconds: price.nextIncrementSeconds,
      connectionFee: toNumber(price.connectionFee),
      timeOfDay: price.timeOfDay.map((window) => ({ ...window, pricePerMinute: toNumber(window.pricePerMinute) })),
    })),
    flags: tariff.flags ?? { internalFree: false, forwardingFree: false, inboundFree: false },
    packages: tariff.packages,
    defaultSiteId: tariff.defaultSiteId,
  };
}

export function tariffToProto(tariff: Tariff): ratingServiceV1.Tariff {
  return {
    tariffId: tariff.tariffId,
    version: tariff.version,
    validFrom: tariff.validFrom,
    validTo: tariff.validTo,
    prices: Object.entries(tariff.prices).map(([destinationClass, price]) => ({
      destinationClass,
      pricePerMinute: String(price.pricePerMinute),
      firstIncrementSeconds: price.firstIncrementSeconds,
      nextIncrementSeconds: price.nextIncrementSeconds,
      connectionFee: String(price.connectionFee),
      timeOfDay: price.timeOfDay.map((window) => ({
        from: clockOf(window.fromMinute),
        to: clockOf(window.toMinute),
        weekdays: window.weekdays,
        pricePerMinute: String(window.pricePerMinute),
      })),
    })),
    flags: tariff.flags,
    packages: tariff.packages,
    defaultSiteId: tariff.defaultSiteId,
  };
}

/** Adapts a promise-returning handler to grpc-js's callback style. */
function unary<Req, Res>(handler: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handler(call.request).then(
      (response) => callback(null, response),
      (error: unknown) =>
        callback(
          error instanceof TariffValidationError ? invalid(error.issues.join('; ')) : (error as grpc.ServiceError),
        ),
    );
  };
}

/** GetUsage, served over gRPC and, for billing's close (the month's voice packages), over NATS. */
export function usageHandler(deps: {
  tariffStore: TariffStore;
  engine: RatingEngine;
}): (request: ratingServiceV1.GetUsageRequest) => Promise<ratingServiceV1.GetUsageResponse> {
  return async (request) => {
    requireTenant(request.tenantId);
    const asOf = request.asOf ?? new Date();
    const month = requireMonth(request.month, asOf);
    return monthUsage(deps.tariffStore, deps.engine, request.tenantId, month, asOf);
  };
}

export function addRatingService(
  server: GrpcServer,
  deps: { tariffStore: TariffStore; engine: RatingEngine; sites: Pick<DirectorySites, 'requireSites'> },
): void {
  const implementation: ratingServiceV1.RatingServiceServer = {
    getUsage: unary(usageHandler(deps)),
    classifyNumbers: unary(async (request) => {
      if (request.numbers.length > MAX_NUMBERS) throw invalid(`numbers: at most ${MAX_NUMBERS} per request`);
      return { results: request.numbers.map((number) => classifyNumber(number)) };
    }),
    rerateMonth: unary(async (request) => {
      requireTenant(request.tenantId);
      const result = await deps.engine.rerate(request.tenantId, requireMonth(request.month));
      return { ratingVersion: result.ratingVersion, previousRatingVersion: result.previous, legs: String(result.legs) };
    }),
    setTariff: unary(async (request) => {
      requireTenant(request.tenantId);
      const input = tariffInputOf(request.tariff);
      parseTariffInput(input, 0); // every bad field first, as INVALID_ARGUMENT
      const defaultSite = request.tariff?.defaultSiteId ?? '';
      // Sites are the directory's: a default site must be one of the tenant's (checked on write;
      // live rating checks each leg's site again, as sites can be removed later).
      if (defaultSite && !(await deps.sites.requireSites(request.tenantId)).has(defaultSite)) {
        throw invalid(`defaultSiteId: "${defaultSite}" is not a site of tenant ${request.tenantId} in the directory`);
      }
      const tariff = await deps.tariffStore.add(request.tenantId, input);
      return { tariff: tariffToProto(tariff) };
    }),
    listTariffs: unary(async (request) => {
      requireTenant(request.tenantId);
      const tariffs = await deps.tariffStore.list(request.tenantId, true);
      return tariffs.length
        ? { tariffs: tariffs.map(tariffToProto), isDefault: false }
        : { tariffs: [tariffToProto(DEFAULT_TARIFF)], isDefault: true };
    }),
  };
  server.addService(
    'switchboard.rating.v1.RatingService',
    ratingServiceV1.RatingServiceService,
    implementation,
    ratingPolicy,
  );
}
