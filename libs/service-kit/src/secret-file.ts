import { stat, readFile } from 'node:fs/promises';

/**
 * A file whose content may be replaced while the process runs (a Kubernetes Secret volume swaps a
 * symlink; an operator rewrites the file). `read()` costs one stat while nothing changed and
 * re-reads the file when its inode, size or modification time did.
 */
export interface SecretFile {
  readonly path: string;
  /** The content, and whether it differs from the previous read (true on the first). */
  read(): Promise<{ text: string; changed: boolean }>;
}

export function secretFile(path: string): SecretFile {
  let version: string | undefined;
  let text = '';
  let pending: Promise<{ text: string; changed: boolean }> | undefined;
  const load = async () => {
    const stats = await stat(path);
    const current = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    if (current === version) return { text, changed: false };
    text = await readFile(path, 'utf8');
    version = current;
    return { text, changed: true };
  };
  return {
    path,
    read() {
      // Concurrent callers share one stat (and read) instead of each starting its own.
      pending ??= load().finally(() => (pending = undefined));
      return pending;
    },
  };
}
