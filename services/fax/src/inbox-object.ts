import type { NatsConnection } from '@nats-io/nats-core';
import { Objm, type ObjectStore } from '@nats-io/obj';

const SCHEME = 'nats-object://';

/** The object named by `nats-object://<bucket>/<name>`; anything else is not a document we read. */
export function parseDocumentUri(uri: string): { bucket: string; name: string } | undefined {
  if (!uri.startsWith(SCHEME)) return undefined;
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { bucket: rest.slice(0, slash), name: rest.slice(slash + 1) };
}

/** Reads what the adapters put into one object store bucket (`fax-inbox` TIFFs, `voicemail-inbox` WAVs). */
export class ObjectInbox {
  private bucket: Promise<ObjectStore> | undefined;

  constructor(
    private readonly connection: NatsConnection,
    readonly bucketName: string,
  ) {}

  private store(): Promise<ObjectStore> {
    const objm = new Objm(this.connection);
    // Created if missing, so the service can start before the first adapter; the adapter's own
    // settings win when it made the bucket first.
    this.bucket ??= objm
      .open(this.bucketName)
      .catch(() => objm.create(this.bucketName))
      .catch((error: unknown) => {
        this.bucket = undefined;
        throw error;
      });
    return this.bucket;
  }

  /** The document's bytes, or null when the object does not exist. */
  async read(name: string): Promise<Uint8Array | null> {
    return (await this.store()).getBlob(name);
  }

  /** Removes an object; one that is already gone is left as it is. */
  async remove(name: string): Promise<void> {
    const store = await this.store();
    const info = await store.info(name);
    if (info && !info.deleted) await store.delete(name);
  }
}
