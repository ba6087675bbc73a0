import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** A child server process started for a test; `stop()` is safe to call more than once. */
export interface ServerProcess {
  readonly pid: number;
  /** The capture groups of the line that said the server was ready. */
  readonly ready: RegExpMatchArray;
  /** Its last output lines (at most 200), e.g. to show why it went away. */
  tail(): string[];
  /** How it ended if it has, before or after `stop()`. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  stop(): Promise<void>;
}

interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  /** Matched against every stdout/stderr line; the first match means the server is ready. */
  readyLine: RegExp;
  timeoutMs?: number;
}

const running = new Set<ChildProcess>();

// A test worker that dies (or forgets afterAll) must not leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const STOP_GRACE_MS = 5_000;
const TAIL_LINES = 200;

export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const { name, command, args, readyLine, timeoutMs = 30_000 } = options;
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  // Only a tail is kept: a server that runs for a while must not grow a log in memory.
  const output: string[] = [];
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  let started = false;

  const ready = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start: ${reason}\n--- ${name} output ---\n${output.join('\n')}`));
    };
    const timer = setTimeout(() => fail(`no ready line within ${timeoutMs} ms`), timeoutMs);
    const onLine = (line: string) => {
      output.push(line);
      if (output.length > TAIL_LINES) output.splice(0, output.length - TAIL_LINES);
      if (started) return;
      const match = readyLine.exec(line);
      if (match) {
        started = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(match);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`exited early (code ${code}, signal ${signal})`);
    child.once('error', (error) => fail(error.message));
    child.once('exit', onExit);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', onLine);
    }
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
    })();
    return stopping;
  };

  return { pid: child.pid ?? -1, ready, tail: () => [...output], exitStatus: () => exited, stop };
}

export interface RestartOptions {
  /** How long the server stays down between its exit and the new start (default 0). */
  downMs?: number;
}

export const RESTART_IN_CONTAINERS =
  'restart is supported only for the local servers (SWITCHBOARD_TESTKIT=local): a restarted Testcontainers container gets a new host port';

/**
 * A server that can be stopped and started again in place: `restart` stops the current process
 * (SIGTERM, waits for its exit), waits `downMs`, then `startAgain` (same port, same data) and
 * resolves once that one reported ready. `stop` ends whichever process is current, also during a
 * restart (the new process is stopped as soon as it is up).
 */
export function restartableServer(
  first: ServerProcess,
  startAgain: () => Promise<ServerProcess>,
): { restart(options?: RestartOptions): Promise<void>; stop(): Promise<void> } {
  let current: ServerProcess | undefined = first;
  let restarting: Promise<void> | undefined;
  let stopped = false;
  return {
    restart: ({ downMs = 0 } = {}) => {
      if (stopped) return Promise.reject(new Error('cannot restart a stopped server'));
      if (restarting) return Promise.reject(new Error('the server is restarting already'));
      restarting = (async () => {
        await current!.stop();
        current = undefined;
        if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
        if (stopped) return;
        const next = await startAgain();
        if (stopped) await next.stop();
        else current = next;
      })().finally(() => (restarting = undefined));
      return restarting;
    },
    stop: async () => {
      stopped = true;
      await restarting?.catch(() => undefined);
      await current?.stop();
    },
  };
}
