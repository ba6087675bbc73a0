import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The rating service as its own process: its real `dist/main.js`, as the image runs it. */
export interface RatingProcess {
  readonly pid: number;
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Its last output lines, to show why it went away. */
  tail(): string[];
  /** Sends a signal and resolves once it exited (SIGKILL: no shutdown hooks run). */
  kill(signal: NodeJS.Signals): Promise<void>;
}

const SERVICE_DIR = fileURLToPath(new URL('../', import.meta.url));
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts rating with `env` (plus PATH) and resolves once it logged that it is ready. */
export async function spawnRating(
  env: Record<string, string>,
  { nodeArgs = [], timeoutMs = 60_000 }: { nodeArgs?: string[]; timeoutMs?: number } = {},
): Promise<RatingProcess> {
  const main = `${SERVICE_DIR}dist/main.js`;
  if (!existsSync(main)) throw new Error(`${main} does not exist: build first (pnpm build)`);
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', '@switchboard/service-kit/instrument', 'dist/main.js'],
    {
      cwd: SERVICE_DIR,
      env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  const exited = once(child, 'exit').finally(() => running.delete(child));
  const lines: string[] = [];
  const { grpcPort, httpPort } = await new Promise<{ grpcPort: number; httpPort: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`rating not ready in ${timeoutMs} ms:\n${lines.join('\n')}`)),
      timeoutMs,
    );
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`rating exited (code ${child.exitCode}, signal ${child.signalCode}):\n${lines.join('\n')}`));
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        try {
          const entry = JSON.parse(line) as { msg?: string; grpcPort?: number; httpPort?: number };
          if (entry.msg === 'rating ready') {
            clearTimeout(timer);
            resolve({ grpcPort: entry.grpcPort ?? 0, httpPort: entry.httpPort ?? 0 });
          }
        } catch {
          // not a log line
        }
      });
    }
  });
  return {
    pid: child.pid ?? -1,
    grpcPort,
    httpPort,
    tail: () => [...lines],
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
