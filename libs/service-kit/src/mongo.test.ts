import { startMongo, type MongoServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DuplicateKeyError,
  applyIndexes,
  connectMongo,
  withTypedErrors,
  type IndexDeclaration,
  type MongoHandle,
} from './mongo.js';

interface NumberRecord {
  tenantId: string;
  e164: string;
  entryPoint: string;
}

const indexes: IndexDeclaration[] = [
  { collection: 'numbers', key: { tenantId: 1, e164: 1 }, options: { name: 'tenant_number', unique: true } },
];

let server: MongoServer;
let mongo: MongoHandle;

beforeAll(async () => {
  server = await startMongo();
  mongo = await connectMongo({ url: server.url, dbName: 'kit_test', appName: 'mongo-test' });
  await applyIndexes(mongo.db, indexes);
});

afterAll(async () => {
  await mongo?.close();
  await server?.stop();
});

describe('MongoDB-wire storage', () => {
  it('round-trips a document and reports the server as reachable', async () => {
    const numbers = mongo.db.collection<NumberRecord>('numbers');
    await withTypedErrors(numbers, (c) =>
      c.insertOne({ tenantId: 't-kropp', e164: '+494624800', entryPoint: 'main-menu' }),
    );
    const found = await numbers.findOne({ tenantId: 't-kropp', e164: '+494624800' }, { projection: { _id: 0 } });
    expect(found).toEqual({ tenantId: 't-kropp', e164: '+494624800', entryPoint: 'main-menu' });
    expect(await mongo.ping()).toBe(true);
  });

  it('applies index declarations idempotently', async () => {
    await applyIndexes(mongo.db, indexes);
    const names = (await mongo.db.collection('numbers').indexes()).map((index) => index.name);
    expect(names).toContain('tenant_number');
  });

  it('turns a unique-index violation into a DuplicateKeyError naming the collection and key', async () => {
    const numbers = mongo.db.collection<NumberRecord>('numbers');
    const record = { tenantId: 't-dup', e164: '+494624801', entryPoint: 'fax' };
    await withTypedErrors(numbers, (c) => c.insertOne({ ...record }));
    const error = await withTypedErrors(numbers, (c) => c.insertOne({ ...record })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DuplicateKeyError);
    const duplicate = error as DuplicateKeyError;
    expect(duplicate.collection).toBe('numbers');
    expect(duplicate.message).toMatch(/^duplicate key in numbers/);
    // Another tenant may hold the same number: the index is per tenant.
    await withTypedErrors(numbers, (c) => c.insertOne({ ...record, tenantId: 't-other' }));
    expect(await numbers.countDocuments({ e164: '+494624801' })).toBe(2);
  });
});
