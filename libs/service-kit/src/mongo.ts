import {
  MongoClient,
  MongoServerError,
  type Collection,
  type CreateIndexesOptions,
  type Db,
  type Document,
  type IndexSpecification,
} from 'mongodb';

export interface IndexDeclaration {
  collection: string;
  key: IndexSpecification;
  options?: CreateIndexesOptions & { name: string };
}

export interface MongoHandle {
  readonly client: MongoClient;
  readonly db: Db;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A write broke a unique index: the record exists already. */
export class DuplicateKeyError extends Error {
  override readonly name = 'DuplicateKeyError';
  constructor(
    readonly collection: string,
    readonly key: Record<string, unknown> | undefined,
    options?: ErrorOptions,
  ) {
    super(`duplicate key in ${collection}${key ? `: ${JSON.stringify(key)}` : ''}`, options);
  }
}

const DUPLICATE_KEY = 11000;
const PING_TIMEOUT_MS = 2_000;

export async function connectMongo(options: { url: string; dbName: string; appName: string }): Promise<MongoHandle> {
  const client = new MongoClient(options.url, { appName: options.appName, serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const db = client.db(options.dbName);
  return {
    client,
    db,
    // Bounded: while the server is away the driver would wait serverSelectionTimeoutMS (10 s),
    // and /readyz must answer "not ready" within a probe's timeout.
    ping: async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          db.command({ ping: 1 }).then(() => true),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS))),
        ]);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => client.close(),
  };
}

/** Applies index declarations at start; creating an existing identical index is a no-op. */
export async function applyIndexes(db: Db, declarations: readonly IndexDeclaration[]): Promise<void> {
  for (const { collection, key, options } of declarations) {
    await db.collection(collection).createIndex(key, options ?? {});
  }
}

/**
 * Runs a write and turns driver errors that callers act on into typed ones: a unique-index
 * violation becomes a DuplicateKeyError naming the collection and the clashing key.
 */
export async function withTypedErrors<T, D extends Document>(
  collection: Collection<D>,
  write: (c: Collection<D>) => Promise<T>,
): Promise<T> {
  try {
    return await write(collection);
  } catch (error) {
    if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) {
      throw new DuplicateKeyError(collection.collectionName, error['keyValue'] as Record<string, unknown> | undefined, {
        cause: error,
      });
    }
    throw error;
  }
}
