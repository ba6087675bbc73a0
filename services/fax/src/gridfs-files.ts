import { GridFSBucket, type Collection, type Db, type ObjectId } from 'mongodb';

interface FileEntry {
  _id: string;
  metadata?: Record<string, unknown>;
}

/**
 * Files of one GridFS bucket under ids this service chooses (`<record id>:<kind>`), so storing a
 * file again after a crash finds or replaces it instead of adding a second copy. The bucket's
 * `files` entries carry the record's id as `metadata.<ownerKey>`.
 */
export class GridFsFiles {
  private readonly files: Collection<FileEntry>;
  private readonly chunks: Collection<{ files_id: string }>;
  private readonly bucket: GridFSBucket;

  constructor(
    db: Db,
    readonly bucketName: string,
    private readonly ownerKey: string,
  ) {
    this.files = db.collection(`${bucketName}.files`);
    this.chunks = db.collection(`${bucketName}.chunks`);
    this.bucket = new GridFSBucket(db, { bucketName });
  }

  /**
   * Stores a file under a fixed id. A complete file (its `files` entry is written last) is kept;
   * chunks of an upload that a crash interrupted are removed and written again.
   */
  async put(id: string, fileName: string, metadata: Record<string, unknown>, bytes: Uint8Array): Promise<string> {
    if (await this.files.findOne({ _id: id })) return id;
    await this.chunks.deleteMany({ files_id: id });
    // GridFS takes any _id; the driver's types only name ObjectId. A fixed id makes the upload idempotent.
    const upload = this.bucket.openUploadStreamWithId(id as unknown as ObjectId, fileName, { metadata });
    await new Promise<void>((resolve, reject) => {
      upload.once('finish', () => resolve());
      upload.once('error', reject);
      upload.end(Buffer.from(bytes));
    });
    return id;
  }

  async read(id: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.bucket.openDownloadStream(id as unknown as ObjectId)) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  /** Sets metadata fields on every file of a record (status and reasons follow the record). */
  async setMetadata(ownerId: string, fields: Record<string, unknown>): Promise<void> {
    const set = Object.fromEntries(Object.entries(fields).map(([key, value]) => [`metadata.${key}`, value]));
    await this.files.updateMany({ [`metadata.${this.ownerKey}`]: ownerId }, { $set: set });
  }

  /** The `files` entry last, so a delete cut short leaves an entry that the next one still finds. */
  async delete(id: string): Promise<void> {
    await this.chunks.deleteMany({ files_id: id });
    await this.files.deleteOne({ _id: id });
  }
}
