import { access, constants } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where `scripts/bootstrap` installs the Go-built servers; `SWITCHBOARD_TOOLS_BIN` overrides. */
export function toolsBinDir(): string {
  return process.env['SWITCHBOARD_TOOLS_BIN'] ?? path.join(REPO_ROOT, '.tools', 'bin');
}

export async function localBinary(name: string): Promise<string> {
  const file = path.join(toolsBinDir(), name);
  try {
    await access(file, constants.X_OK);
    return file;
  } catch {
    throw new Error(
      `${name} is not installed at ${file} and no Docker engine is reachable for Testcontainers. ` +
        'Run `bash scripts/bootstrap` at the repository root to build the local servers.',
    );
  }
}
