import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/nats-core';
import { MongoNetworkError, MongoNotConnectedError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import type { Logger } from './logger.js';

// Mongo server errors that mean "shutting down / not the primary now", not "your request is wrong".
const MONGO_UNAVAILABLE_CODES = new Set([
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/**
 * The failure is a dependency being away — NATS disconnected or JetStream not answering (a
 * restart), MongoDB/FerretDB unreachable — not something wrong with the work itself: the same work
 * succeeds once the server is back, so it is retried without counting as a failed attempt.
 */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (
    error instanceof errors.TimeoutError ||
    error instanceof errors.NoRespondersError ||
    error instanceof errors.ConnectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError
  ) {
    return true;
  }
  // JetStream answers 503 while it recovers its store after a restart.
  if (error instanceof JetStreamApiError && error.status === 503) return true;
  if (error instanceof MongoServerError) {
    return MONGO_UNAVAILABLE_CODES.has(Number(error.code)) || error.hasErrorLabel('RetryableWriteError');
  }
  // nats.js wraps a request's timeout or missing responder in a RequestError.
  return error.cause !== undefined && error.cause !== error && isUnavailable(error.cause);
}

/** Waits between attempts while a dependency is away: quick at first, then every 5 s. */
export const UNAVAILABLE_BACKOFF_MS: readonly number[] = [250, 500, 1_000, 2_000, 5_000];

export interface RetryWhileUnavailableOptions {
  /** Named in the log line of the first retry, e.g. `publish sb.t1.call.ended`. */
  what: string;
  logger?: Logger;
  /** Gives up (rethrows the last error) once this much time has passed; default: never. */
  budgetMs?: number;
  /** Gives up when this returns true before an attempt (e.g. the consumer is stopping). */
  stopped?: () => boolean;
}

/**
 * Runs `work` again, with back-off, for as long as it fails with `isUnavailable` (and the budget
 * lasts); any other failure is thrown at once. One warning when it starts waiting, one info line
 * when the work succeeded after waiting.
 */
export async function retryWhileUnavailable<T>(
  work: () => Promise<T>,
  options: RetryWhileUnavailableOptions,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await work();
      if (attempt > 0) {
        options.logger?.info(
          { attempts: attempt + 1, waitedMs: Date.now() - started },
          `${options.what}: done after an outage`,
        );
      }
      return result;
    } catch (error) {
      if (!isUnavailable(error) || options.stopped?.()) throw error;
      const delay = UNAVAILABLE_BACKOFF_MS[Math.min(attempt, UNAVAILABLE_BACKOFF_MS.length - 1)]!;
      if (options.budgetMs !== undefined && Date.now() + delay - started > options.budgetMs) throw error;
      if (attempt === 0) {
        options.logger?.warn({ err: error }, `${options.what}: dependency unavailable; retrying until it is back`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
