import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface SippExit {
  /**
   * 0: every call succeeded, 1: at least one failed, 255/254: fatal error / could not bind (see `sipp -h`). sipp
   * stopped by SIGTERM quits at once with 0 too, leaving its calls as they are.
   */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what sipp wrote to stderr (its fatal errors land here). */
  stderr: string;
}

export interface SippProcess {
  /** Settles when sipp has exited, for whatever reason. */
  readonly exited: Promise<SippExit>;
  /** SIGTERM (sipp quits at once, leaving its calls as they are), SIGKILL if that fails; safe to call twice. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

// As in server-process.ts: a test worker that dies (or forgets to stop) must not leave phones behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const STDERR_KEPT = 4_000;
const STOP_GRACE_MS = 2_000;

const COMMON_ARGS = [
  '-nostdin',
  // Answers in-call UPDATE/INFO/NOTIFY/OPTIONS with 200 instead of aborting the call on them.
  '-aa',
  // sipp ends the whole run once its event loop has stalled often enough, which a busy 2-core CI machine does.
  ...['-watchdog_minor_maxtriggers', '1000000', '-watchdog_major_maxtriggers', '1000000'],
];

/**
 * Runs `sipp` from the PATH (Debian's `sip-tester`) in `cwd`, where it writes the files it is not told to put
 * elsewhere, with every socket on the loopback `address`.
 */
export function runSipp(args: string[], cwd: string, address = '127.0.0.1'): SippProcess {
  // SIP, media (RTP echo socket, pcap play source) and the control socket, which otherwise binds 0.0.0.0:8888+.
  const addresses = ['-i', address, '-mi', address, '-ci', address];
  // stdout only carries sipp's screen; nobody reads it, and a full pipe would stall sipp.
  const child = spawn('sipp', [...addresses, ...COMMON_ARGS, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEPT);
  });
  const exited = new Promise<SippExit>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      running.delete(child);
      const hint = error.code === 'ENOENT' ? ' (install Debian’s sip-tester: bash scripts/bootstrap)' : '';
      resolve({ code: null, signal: null, stderr: `cannot run sipp: ${error.message}${hint}` });
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stderr });
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        const gone = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await gone;
        clearTimeout(timer);
      }
      await exited;
    })();
    return stopping;
  };

  return { exited, stop };
}
