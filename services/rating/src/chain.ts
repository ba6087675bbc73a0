import { POOLS, type Pool } from './pools.js';
import { unpack, type BatchDoc, type RatedLegRecord } from './store.js';

/** Usage of one destination class: what GetUsage and the pool metrics report. */
export interface ClassTotals {
  destinationClass: string;
  legs: number;
  billed: number;
  bundle: number;
  overage: number;
  amount: number;
  fees: number;
}

export function totalsOf(legs: readonly RatedLegRecord[]): ClassTotals[] {
  const byClass = new Map<string, ClassTotals>();
  for (const leg of legs) addLeg(byClass, leg);
  return [...byClass.values()];
}

function addLeg(byClass: Map<string, ClassTotals>, leg: RatedLegRecord): void {
  const entry = byClass.get(leg.destinationClass) ?? emptyTotals(leg.destinationClass);
  entry.legs += 1;
  entry.billed += leg.billedSeconds;
  entry.bundle += leg.bundleSeconds;
  entry.overage += leg.overageSeconds;
  entry.amount += leg.amount;
  entry.fees += leg.connectionFee;
  byClass.set(leg.destinationClass, entry);
}

const emptyTotals = (destinationClass: string): ClassTotals => ({
  destinationClass,
  legs: 0,
  billed: 0,
  bundle: 0,
  overage: 0,
  amount: 0,
  fees: 0,
});

/**
 * What one replica knows of a chain (one tenant's month in one rating version): every link up to
 * `seq`, read from the store or written by itself. Appending needs all of them: the pools' tails
 * are the last link's ranges, and a leg is a duplicate exactly when its key is in some link. The
 * usage counters are the sums of the links' totals, so they are exact whenever the chain is.
 */
export class ChainState {
  seq = 0;
  /** Billed seconds of each pool after the last link. */
  readonly pools: Record<Pool, number> = Object.fromEntries(POOLS.map((pool) => [pool, 0])) as Record<Pool, number>;
  /** Chain key of every leg → seq of its link. */
  readonly legs = new Map<string, number>();
  /** seq → `_id` of the link's page. */
  readonly pages = new Map<number, string>();
  readonly totals = new Map<string, ClassTotals>();
  lastUsed = Date.now();

  constructor(
    readonly id: string,
    readonly tenantId: string,
    readonly month: string,
    readonly version: number,
  ) {}

  /**
   * Adds the next link; throws on a gap or a link whose ranges do not start where the chain ends.
   * `known` spares unpacking what the caller just packed into the link.
   */
  apply(link: BatchDoc, known?: { keys: readonly string[]; totals: readonly ClassTotals[] }): void {
    if (link.seq !== this.seq + 1) throw new Error(`chain ${this.id}: link ${link.seq} after ${this.seq}`);
    for (const pool of POOLS) {
      const range = link.pools[pool];
      if (range.from !== this.pools[pool]) {
        throw new Error(`chain ${this.id}: link ${link.seq} starts ${pool} at ${range.from}, not ${this.pools[pool]}`);
      }
    }
    for (const key of known?.keys ?? unpack<string[]>(link.keys)) this.legs.set(key, link.seq);
    for (const entry of known?.totals ?? (JSON.parse(link.totals) as ClassTotals[])) {
      const total = this.totals.get(entry.destinationClass) ?? emptyTotals(entry.destinationClass);
      total.legs += entry.legs;
      total.billed += entry.billed;
      total.bundle += entry.bundle;
      total.overage += entry.overage;
      total.amount += entry.amount;
      total.fees += entry.fees;
      this.totals.set(entry.destinationClass, total);
    }
    for (const pool of POOLS) this.pools[pool] = link.pools[pool].to;
    this.pages.set(link.seq, link.page);
    this.seq = link.seq;
  }

  /** Usage per class, sorted by class. */
  classTotals(): ClassTotals[] {
    return [...this.totals.values()]
      .map((entry) => ({ ...entry }))
      .sort((a, b) => a.destinationClass.localeCompare(b.destinationClass));
  }
}
