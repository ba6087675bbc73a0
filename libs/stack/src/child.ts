import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from './services.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// From dist/ even when this module runs from src/ (vitest): the child runs plain node.
const PARENT_WATCH = fileURLToPath(new URL('../dist/parent-watch.js', import.meta.url));

export interface ServiceProcess {
  readonly name: ServiceName;
  readonly replica: number;
  readonly pid: number;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly logFile: string;
  /** Resolves when the process has exited (after any signal). */
  readonly exited: Promise<void>;
  /** Sends `signal` (SIGTERM by default) and waits; SIGKILL after `graceMs`. Safe to repeat. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();

// Last resort when the parent exits without stopping the stack (a failed test, process.exit).
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface SpawnServiceOptions {
  name: ServiceName;
  replica: number;
  env: Record<string, string>;
  logDir: string;
  readyTimeoutMs: number;
}

async function logTail(file: string, lines = 40): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

interface ReadyLine {
  httpPort: number;
  grpcPort?: number;
}

/** The kit logs `<name> ready` with the ports it bound (the stack asks for port 0 = any free one). */
function parseReady(line: string, name: string): ReadyLine | undefined {
  if (!line.includes(' ready')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: string; httpPort?: number; grpcPort?: number };
    if (entry.msg === `${name} ready` && typeof entry.httpPort === 'number') {
      return { httpPort: entry.httpPort, grpcPort: entry.grpcPort };
    }
  } catch {
    // not a JSON log line
  }
  return undefined;
}

async function waitReady(httpPort: number, deadline: number, exited: () => boolean): Promise<void> {
  for (;;) {
    if (exited()) throw new Error('exited while waiting for /readyz');
    const ok = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error('/readyz did not report ready in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts `services/<name>/dist/main.js` as the images do (`--import` of the kit's instrument),
 * writes its output to `<logDir>/<name>-<replica>.log` and resolves once `/readyz` says ready.
 * A process that exits or is not ready in time fails the start with the tail of its log.
 */
export async function spawnService(options: SpawnServiceOptions): Promise<ServiceProcess> {
  const { name, replica, env, logDir } = options;
  const serviceDir = path.join(REPO_ROOT, 'services', name);
  const main = path.join(serviceDir, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} does not exist: build first (pnpm build)`);
  const logFile = path.join(logDir, `${name}-${replica}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    ['--import', PARENT_WATCH, '--import', '@switchboard/service-kit/instrument', 'dist/main.js'],
    { cwd: serviceDir, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  running.add(child);
  const forget = () => {
    running.delete(child);
  };
  const exited = once(child, 'exit').then(forget, forget);
  child.channel?.unref();
  let ready: ReadyLine | undefined;
  let onReady: (line: ReadyLine) => void = () => undefined;
  const readyLine = new Promise<ReadyLine>((resolve) => (onReady = resolve));
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (ready) return;
    ready = parseReady(line, name);
    if (ready) onReady(ready);
  });
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  let stopping: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) => {
    if (signal !== 'SIGTERM' || !stopping) {
      stopping = (async () => {
        if (!hasExited()) {
          child.kill(signal);
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        await exited;
        log.end();
      })();
    }
    return stopping;
  };

  const deadline = Date.now() + options.readyTimeoutMs;
  try {
    const failed = exited.then(() => {
      throw new Error(`exited early (code ${child.exitCode}, signal ${child.signalCode})`);
    });
    failed.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no ready log line within ${options.readyTimeoutMs} ms`)),
        options.readyTimeoutMs,
      );
    });
    const ports = await Promise.race([readyLine, failed, timeout]).finally(() => clearTimeout(timer));
    await waitReady(ports.httpPort, deadline, hasExited);
    return {
      name,
      replica,
      pid: child.pid ?? -1,
      grpcPort: ports.grpcPort ?? 0,
      httpPort: ports.httpPort,
      logFile,
      exited,
      stop,
    };
  } catch (error) {
    await stop('SIGKILL');
    throw new Error(
      `${name} (replica ${replica}) did not start: ${(error as Error).message}\n--- last lines of ${logFile} ---\n${await logTail(logFile)}`,
    );
  }
}
