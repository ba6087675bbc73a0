import { DuplicateKeyError, withTypedErrors } from '@switchboard/service-kit';
import type { Store, TariffDoc } from './store.js';
import { parseTariffInput, type Tariff } from './tariff.js';

const CACHE_MS = 5_000;

/**
 * Tariff versions per tenant. Rating reads them through a short cache (a new version matters from
 * its valid_from date, and `rerate` re-reads them fresh); writes assign the next version number.
 */
export class TariffStore {
  private readonly cache = new Map<string, { tariffs: Tariff[]; loadedAt: number }>();

  constructor(private readonly store: Store) {}

  async list(tenantId: string, fresh = false): Promise<Tariff[]> {
    const cached = this.cache.get(tenantId);
    if (!fresh && cached && Date.now() - cached.loadedAt < CACHE_MS) return cached.tariffs;
    const docs = await this.store.tariffs.find({ tenantId }).sort({ version: -1 }).toArray();
    const tariffs = docs.map(({ _id, tenantId: _tenant, ...tariff }) => tariff);
    this.cache.set(tenantId, { tariffs, loadedAt: Date.now() });
    return tariffs;
  }

  /** Validates and stores a new version (throws TariffValidationError listing every bad field). */
  async add(tenantId: string, input: unknown): Promise<Tariff> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const latest = await this.store.tariffs.find({ tenantId }).sort({ version: -1 }).limit(1).next();
      const tariff = parseTariffInput(input, (latest?.version ?? 0) + 1);
      const doc: TariffDoc = { _id: `${tenantId}:${tariff.version}`, tenantId, ...tariff };
      try {
        await withTypedErrors(this.store.tariffs, (tariffs) => tariffs.insertOne(doc));
        this.cache.delete(tenantId);
        return tariff;
      } catch (error) {
        if (!(error instanceof DuplicateKeyError)) throw error;
      }
    }
    throw new Error(`tariff version for ${tenantId} kept clashing with concurrent writers; retry`);
  }
}
