// Runs a built service the way its image does (`node --import @switchboard/service-kit/instrument
// dist/main.js`), on ports it picks itself, and reads those ports from its "ready" log line.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SERVICES = fileURLToPath(new URL('../../../services/', import.meta.url));

export interface ServiceProcess {
  readonly name: string;
  readonly httpPort: number;
  readonly grpcPort: number | undefined;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

export async function startServiceProcess(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', '@switchboard/service-kit/instrument', 'dist/main.js'], {
    cwd: `${SERVICES}${name}`,
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: name,
      BIND_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4_000)));
  try {
    const ready = await new Promise<{ httpPort: number; grpcPort?: number }>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 1);
          log = (log + line + '\n').slice(-4_000);
          const entry = JSON.parse(line) as { msg?: string; httpPort?: number; grpcPort?: number };
          if (entry.msg === `${name} ready` && entry.httpPort)
            resolve({ httpPort: entry.httpPort, grpcPort: entry.grpcPort });
        }
      });
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready:\n${log}`)));
    });
    child.stdout.resume();
    return { name, httpPort: ready.httpPort, grpcPort: ready.grpcPort, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
