import { existsSync } from 'node:fs';
import { request } from 'node:http';

export type InfraMode = 'containers' | 'local';

const PING_TIMEOUT_MS = 1_500;

function pingDockerSocket(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: PING_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

let detected: Promise<InfraMode> | undefined;

/**
 * Testcontainers where a Docker engine answers, local binaries otherwise.
 * `SWITCHBOARD_TESTKIT=containers|local` forces one (e.g. a remote DOCKER_HOST in CI).
 */
export function infraMode(): Promise<InfraMode> {
  const forced = process.env['SWITCHBOARD_TESTKIT'];
  if (forced === 'containers' || forced === 'local') return Promise.resolve(forced);
  if (forced) throw new Error(`SWITCHBOARD_TESTKIT must be "containers" or "local", got "${forced}"`);
  detected ??= (async () => {
    const dockerHost = process.env['DOCKER_HOST'];
    if (dockerHost && !dockerHost.startsWith('unix://')) return 'containers';
    const socket = dockerHost ? dockerHost.slice('unix://'.length) : '/var/run/docker.sock';
    return existsSync(socket) && (await pingDockerSocket(socket)) ? 'containers' : 'local';
  })();
  return detected;
}
