import { copyFile, mkdir, open } from 'node:fs/promises';
import { type FaxScript } from './model.js';

/** ReceiveFAX's file: the caller's TIFF copied to the spool, cut short if the script says so. */
export async function storeFax(script: FaxScript | undefined, spoolDir: string, file: string): Promise<boolean> {
  if (!script) return false;
  try {
    await mkdir(spoolDir, { recursive: true });
    if (script.truncateBytes === undefined) {
      await copyFile(script.tiff, file);
    } else {
      const source = await open(script.tiff, 'r');
      try {
        const buffer = Buffer.alloc(script.truncateBytes);
        const { bytesRead } = await source.read(buffer, 0, script.truncateBytes, 0);
        const target = await open(file, 'w');
        await target.writeFile(buffer.subarray(0, bytesRead));
        await target.close();
      } finally {
        await source.close();
      }
    }
    return true;
  } catch {
    return false;
  }
}
