import type { IndexDeclaration } from '@switchboard/service-kit';
import type { Collection, Db } from 'mongodb';
import { z } from 'zod';
import type { DirectoryCache } from './cache.js';
import { AlreadyExistsError, InUseError, type Directory } from './directory.js';
import { ValidationError, idSchema, isE164, parseOrThrow, type DirectoryDocument, type PhoneNumber } from './model.js';
import { NotFoundError } from './store.js';

// Number pools: blocks of numbers the provider assigned to a tenant, from which the tenant's
// admins take numbers (they become ordinary numbers of the tenant's directory) and to which they
// give them back. A pool row stores only the blocks; which of its numbers are in use is always
// read from the tenant's numbers, so a number deleted by any path is free again at once.

/** Numbers one pool may hold; a block is enumerated when numbers are handed out. */
const MAX_POOL_SIZE = 100_000;
/** Numbers one request may take. */
const MAX_REQUEST = 100;

const E164_DIGITS = /^\+[1-9]\d{3,14}$/;
const e164Digits = z.string().regex(E164_DIGITS, 'must be E.164: "+" and digits');

/**
 * First and last of one length. The numbers between share the first's length and leading digits,
 * so the first and last being valid numbers of their country plan is what is checked; a number
 * handed out is validated again as any new number is.
 */
const numberBlockSchema = z.object({ first: e164Digits, last: e164Digits }).superRefine((block, context) => {
  if (block.first.length !== block.last.length) {
    context.addIssue({ code: 'custom', path: ['last'], message: 'must have as many digits as first' });
  } else if (block.last < block.first) {
    context.addIssue({ code: 'custom', path: ['last'], message: 'must not be below first' });
  }
  for (const field of ['first', 'last'] as const) {
    if (E164_DIGITS.test(block[field]) && !isE164(block[field])) {
      context.addIssue({ code: 'custom', path: [field], message: 'must be a valid E.164 number such as +494624720' });
    }
  }
});

const numberPoolSchema = z
  .object({
    poolId: idSchema,
    name: z.string().trim().max(200, 'must be at most 200 characters').default(''),
    blocks: z.array(numberBlockSchema).min(1, 'must hold at least one block'),
  })
  .superRefine((pool, context) => {
    const size = poolSize(pool);
    if (size > MAX_POOL_SIZE) {
      context.addIssue({ code: 'custom', path: ['blocks'], message: `hold ${size} numbers, at most ${MAX_POOL_SIZE}` });
    }
    pool.blocks.forEach((block, index) => {
      const other = pool.blocks.findIndex((candidate, at) => at < index && blocksOverlap(candidate, block));
      if (other >= 0)
        context.addIssue({ code: 'custom', path: ['blocks', index], message: `overlaps blocks[${other}]` });
    });
  });

type NumberBlock = z.infer<typeof numberBlockSchema>;
type NumberPool = z.infer<typeof numberPoolSchema>;

/** A pool and how much of it the tenant uses (NumberPoolStatus). */
export interface PoolStatus {
  pool: NumberPool;
  size: number;
  inUse: string[];
  free: number;
}

const digits = (number: string) => BigInt(number.slice(1));
const blockSize = (block: NumberBlock) => Number(digits(block.last) - digits(block.first)) + 1;
const wellFormed = (block: NumberBlock) =>
  E164_DIGITS.test(block.first) && E164_DIGITS.test(block.last) && block.first.length === block.last.length;
/** Numbers in the pool's blocks; a malformed block (reported by the schema) counts none. */
const poolSize = (pool: { blocks: readonly NumberBlock[] }) =>
  pool.blocks.reduce((sum, block) => sum + (wellFormed(block) ? blockSize(block) : 0), 0);

// Numbers of one length compare as strings, which is how blocks are compared throughout.
const inBlock = (block: NumberBlock, number: string) =>
  number.length === block.first.length && number >= block.first && number <= block.last;
const blocksOverlap = (a: NumberBlock, b: NumberBlock) =>
  a.first.length === b.first.length && a.first <= b.last && b.first <= a.last;
const inPool = (pool: NumberPool, number: string): boolean => pool.blocks.some((block) => inBlock(block, number));

/** The numbers a direct-dial range reaches, as a block. */
const rangeBlock = (range: PhoneNumber): NumberBlock => ({
  first: range.number + '0'.repeat(range.rangeDigits),
  last: range.number + '9'.repeat(range.rangeDigits),
});

function* blockNumbers(block: NumberBlock): Generator<string> {
  for (let value = digits(block.first); value <= digits(block.last); value++) yield `+${value}`;
}

/**
 * Why a number of the tenant's pool cannot be handed out, or undefined when it can: the tenant
 * has it, another tenant has it, or it would hide an extension of one of the tenant's own
 * direct-dial ranges (an exact number wins over a range, so that person could not be dialled).
 */
function unavailable(
  document: DirectoryDocument,
  elsewhere: ReadonlySet<string>,
): { reasons: Map<string, string>; reason(number: string): string | undefined } {
  const reasons = new Map<string, string>();
  for (const number of document.numbers) {
    if (number.kind !== 'direct-dial-range') reasons.set(number.number, 'is already a number of the tenant');
  }
  for (const number of elsewhere) reasons.set(number, 'belongs to another tenant');
  for (const range of document.numbers.filter((number) => number.kind === 'direct-dial-range')) {
    for (const staff of document.staff) {
      if (staff.extension.length !== range.rangeDigits) continue;
      reasons.set(
        range.number + staff.extension,
        `would hide extension ${staff.extension} (${staff.displayName}) of the direct-dial range ${range.number}`,
      );
    }
  }
  return { reasons, reason: (number) => reasons.get(number) };
}

interface PoolRow extends NumberPool {
  tenantId: string;
  updatedAt: Date;
}

const COLLECTION = 'directory_number_pools';

export const POOL_INDEXES: IndexDeclaration[] = [
  { collection: COLLECTION, key: { tenantId: 1, poolId: 1 }, options: { name: 'tenant_pool', unique: true } },
];

const stripRow = ({ poolId, name, blocks }: PoolRow): NumberPool => ({
  poolId,
  name,
  blocks: blocks.map(({ first, last }) => ({ first, last })),
});

export interface PoolNumberRequest {
  poolId: string;
  count: number;
  number: string;
  kind: string | undefined;
  siteId: string;
  entryPoint: { kind: string | undefined; target: string } | undefined;
}

/** The pool operations; numbers handed out and given back go through the Directory's writes. */
export class NumberPools {
  private readonly rows: Collection<PoolRow>;
  /** Requests of one tenant in this replica run one at a time, so two never pick the same numbers. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    db: Db,
    private readonly directory: Directory,
  ) {
    this.rows = db.collection<PoolRow>(COLLECTION);
  }

  private get cache(): DirectoryCache {
    return this.directory.cache;
  }

  private serial<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(tenantId) ?? Promise.resolve()).then(work, work);
    this.queues.set(tenantId, next);
    const forget = () => {
      if (this.queues.get(tenantId) === next) this.queues.delete(tenantId);
    };
    next.then(forget, forget);
    return next;
  }

  private async pools(tenantId: string): Promise<NumberPool[]> {
    const rows = await this.rows.find({ tenantId }).sort({ poolId: 1 }).toArray();
    return rows.map(stripRow);
  }

  /** Numbers other tenants have (direct-dial ranges as blocks). */
  private otherTenants(tenantId: string): { numbers: Set<string>; ranges: Array<[string, NumberBlock]> } {
    const numbers = new Set<string>();
    const ranges: Array<[string, NumberBlock]> = [];
    for (const other of this.cache.tenantIds()) {
      if (other === tenantId) continue;
      for (const number of this.cache.get(other)?.document.numbers ?? []) {
        if (number.kind === 'direct-dial-range') ranges.push([other, rangeBlock(number)]);
        else numbers.add(number.number);
      }
    }
    return { numbers, ranges };
  }

  private status(pool: NumberPool, document: DirectoryDocument): PoolStatus {
    const { reasons } = unavailable(document, this.otherTenants(document.tenant.tenantId).numbers);
    const inUse = document.numbers
      .filter((number) => number.kind !== 'direct-dial-range' && inPool(pool, number.number))
      .map((number) => number.number)
      .sort();
    const size = poolSize(pool);
    let taken = 0;
    for (const number of reasons.keys()) if (inPool(pool, number)) taken++;
    return { pool, size, inUse, free: size - taken };
  }

  async list(tenantId: string): Promise<PoolStatus[]> {
    const document = await this.directory.current(tenantId);
    return (await this.pools(tenantId)).map((pool) => this.status(pool, document));
  }

  /**
   * Creates or replaces the tenant's pool of that id. Refused: a block overlapping another pool
   * (the tenant's or another tenant's), another tenant's number or direct-dial range, and a
   * replacement that no longer covers a number the tenant took from the pool.
   */
  async assign(tenantId: string, input: unknown): Promise<PoolStatus> {
    const pool = parseOrThrow(numberPoolSchema, input, 'pool');
    const document = await this.directory.current(tenantId);
    const problems: string[] = [];
    const others = await this.rows.find({ $nor: [{ tenantId, poolId: pool.poolId }] }).toArray();
    const { numbers, ranges } = this.otherTenants(tenantId);
    pool.blocks.forEach((block, index) => {
      const path = `pool.blocks[${index}]`;
      for (const other of others) {
        if (other.blocks.some((candidate) => blocksOverlap(candidate, block))) {
          problems.push(
            other.tenantId === tenantId
              ? `${path}: overlaps the tenant's pool "${other.poolId}"`
              : `${path}: overlaps pool "${other.poolId}" of tenant ${other.tenantId}`,
          );
        }
      }
      for (const number of numbers)
        if (inBlock(block, number)) problems.push(`${path}: ${number} belongs to another tenant`);
      for (const [owner, range] of ranges) {
        if (blocksOverlap(range, block)) {
          problems.push(`${path}: overlaps the direct-dial range ${range.first}…${range.last} of tenant ${owner}`);
        }
      }
    });
    if (problems.length > 0) throw new ValidationError(problems);
    const previous = await this.rows.findOne({ tenantId, poolId: pool.poolId });
    if (previous) {
      const dropped = this.status(stripRow(previous), document).inUse.filter((number) => !inPool(pool, number));
      if (dropped.length > 0) {
        throw new InUseError(
          `pool.blocks: no longer cover ${dropped.join(', ')}, which the tenant uses; release them first`,
        );
      }
    }
    await this.rows.updateOne(
      { tenantId, poolId: pool.poolId },
      { $set: { name: pool.name, blocks: pool.blocks, updatedAt: new Date() } },
      { upsert: true },
    );
    return this.status(pool, document);
  }

  async remove(tenantId: string, poolId: string): Promise<void> {
    const row = await this.rows.findOne({ tenantId, poolId });
    if (!row) throw new NotFoundError(`number pool ${poolId} not found in tenant ${tenantId}`);
    const { inUse } = this.status(stripRow(row), await this.directory.current(tenantId));
    if (inUse.length > 0) {
      throw new InUseError(`pool ${poolId} still has numbers in use: ${inUse.join(', ')}; release them first`);
    }
    await this.rows.deleteOne({ tenantId, poolId });
  }

  /** The lowest free numbers (or the one named) become the tenant's, all or none. */
  async request(tenantId: string, request: PoolNumberRequest): Promise<PhoneNumber[]> {
    const { count, number } = request;
    if (number ? count !== 0 : count < 1 || count > MAX_REQUEST) {
      throw new ValidationError([
        number ? 'count: must be 0 when number names one' : `count: must be 1–${MAX_REQUEST}, or name a number`,
      ]);
    }
    if (request.kind !== undefined && request.kind !== 'main' && request.kind !== 'fax') {
      throw new ValidationError(['kind: must be main or fax (a direct-dial range is not taken from a pool)']);
    }
    return this.serial(tenantId, async () => {
      const document = await this.directory.current(tenantId);
      let pools = await this.pools(tenantId);
      if (request.poolId) {
        pools = pools.filter((pool) => pool.poolId === request.poolId);
        if (pools.length === 0)
          throw new NotFoundError(`number pool ${request.poolId} not found in tenant ${tenantId}`);
      } else if (pools.length === 0) {
        throw new InUseError(`tenant ${tenantId} has no number pool; the provider assigns one`);
      }
      const { reason } = unavailable(document, this.otherTenants(tenantId).numbers);
      const where = request.poolId ? `pool ${request.poolId}` : "the tenant's pools";
      const picked = number ? [this.named(pools, where, number, reason)] : this.lowestFree(pools, where, count, reason);
      const kind = request.kind ?? 'main';
      return this.directory.addNumbers(
        tenantId,
        picked.map((chosen) => ({
          number: chosen,
          kind,
          siteId: request.siteId,
          entryPoint: request.entryPoint,
        })),
      );
    });
  }

  private named(
    pools: readonly NumberPool[],
    where: string,
    number: string,
    reason: (number: string) => string | undefined,
  ): string {
    if (!pools.some((pool) => inPool(pool, number)))
      throw new ValidationError([`number: ${number} is not in ${where}`]);
    const why = reason(number);
    if (why === 'is already a number of the tenant') throw new AlreadyExistsError(`number ${number} ${why}`);
    if (why) throw new InUseError(`number ${number} ${why}`);
    return number;
  }

  private lowestFree(
    pools: readonly NumberPool[],
    where: string,
    count: number,
    reason: (number: string) => string | undefined,
  ): string[] {
    const picked: string[] = [];
    for (const pool of pools) {
      const blocks = [...pool.blocks].sort((a, b) => a.first.length - b.first.length || (a.first < b.first ? -1 : 1));
      for (const block of blocks) {
        for (const number of blockNumbers(block)) {
          if (reason(number) === undefined) picked.push(number);
          if (picked.length === count) return picked;
        }
      }
    }
    throw new InUseError(`only ${picked.length} free numbers in ${where}, ${count} requested`);
  }

  /**
   * Gives a number of one of the tenant's pools back. The last number leading to an IVR menu or
   * (fax) department is released only with `allowUnreachable`; the target itself stays as it is.
   */
  async release(tenantId: string, number: string, allowUnreachable: boolean): Promise<PhoneNumber> {
    const released = await this.directory.get(tenantId, 'numbers', number);
    const pools = await this.pools(tenantId);
    if (released.kind === 'direct-dial-range' || !pools.some((pool) => inPool(pool, number))) {
      throw new InUseError(`number ${number} is not from a number pool of the tenant (DeleteNumber removes it)`);
    }
    const { kind, target } = released.entryPoint;
    if (!allowUnreachable && kind !== 'extension') {
      const document = await this.directory.current(tenantId);
      const others = document.numbers.filter(
        (other) => other.number !== number && other.entryPoint.kind === kind && other.entryPoint.target === target,
      );
      if (others.length === 0) {
        throw new InUseError(
          `number ${number} is the last number leading to ${TARGET_NAMES[kind]} "${target}", which callers from outside ` +
            'could no longer dial; point another number there first or confirm the release (allow_unreachable)',
        );
      }
    }
    await this.directory.remove(tenantId, 'numbers', number);
    return released;
  }
}

const TARGET_NAMES: Record<string, string> = {
  'ivr-menu': 'the IVR menu',
  department: 'the department',
  'fax-department': 'the fax mailbox of department',
};
