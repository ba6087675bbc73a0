import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolsBinDir } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  CHART_PERMISSIONS,
  COMPOSE_AUTH,
  chartPermissions,
  composeAuth,
} from '../../../libs/events/scripts/nats-config.js';
import { publicKeyOfSeed } from '../../../libs/events/src/nats-keys.js';
import { CHART, REPO, chartWithoutDependencies, type ChartCopy, type Manifest } from './helm.js';

// NATS with auth wherever the system is deployed: the generated files are current, nats-server
// accepts the configurations the chart and compose give it, and each service gets its own seed only.

const run = promisify(execFile);
const SERVICES = ['ari-adapter', 'billing', 'directory', 'fax', 'ivr', 'presence', 'rating', 'routing'];
let scratch: string;

/** nats-server's own check of a configuration that includes `auth` as auth.conf. */
async function checkNatsConfig(auth: string): Promise<string> {
  const dir = await mkdtemp(join(scratch, 'nats-'));
  await writeFile(join(dir, 'auth.conf'), auth);
  await writeFile(join(dir, 'nats.conf'), `jetstream { store_dir: "${join(dir, 'js')}" }\ninclude ./auth.conf\n`);
  const { stdout, stderr } = await run(join(toolsBinDir(), 'nats-server'), ['-c', join(dir, 'nats.conf'), '-t']);
  return `${stdout}${stderr}`;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sb-nats-deploy-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('docker/compose.yaml NATS', () => {
  it('runs NATS with the generated users, and each service with its own seed as a compose secret', async () => {
    expect(await readFile(COMPOSE_AUTH, 'utf8'), 'docker/nats/auth.conf is stale: pnpm nats:generate').toBe(
      await composeAuth(false),
    );
    expect(await checkNatsConfig(await readFile(COMPOSE_AUTH, 'utf8'))).toMatch(/configuration file .* is valid/);
    const { stdout } = await run('docker-compose', ['-f', join(REPO, 'docker', 'compose.yaml'), 'config']);
    const config = parse(stdout) as {
      services: Record<
        string,
        { command?: string[]; environment?: Record<string, string>; secrets?: Array<string | { source: string }> }
      >;
      secrets: Record<string, { file: string }>;
    };
    expect(config.services['nats']!.command).toEqual(['-c', '/etc/nats/nats.conf']);
    const auth = await readFile(COMPOSE_AUTH, 'utf8');
    for (const name of SERVICES) {
      const service = config.services[name]!;
      const secrets = (service.secrets ?? []).map((secret) => (typeof secret === 'string' ? secret : secret.source));
      expect(secrets, name).toEqual([`nats-${name}`]);
      expect(service.environment?.['NATS_NKEY_SEED_FILE'], name).toBe(`/run/secrets/nats-${name}`);
      expect(service.environment?.['NATS_NKEY_SEED'], name).toBeUndefined();
      const seed = await readFile(config.secrets[`nats-${name}`]!.file, 'utf8');
      expect(auth, name).toContain(`# ${name}\n      { nkey: ${publicKeyOfSeed(seed)},`);
    }
  });
});

describe('charts/switchboard NATS', () => {
  let chart: ChartCopy;
  const rendered = new Map<string, Manifest[]>();

  beforeAll(async () => {
    chart = await chartWithoutDependencies();
    for (const values of ['minimal-values.yaml', 'production-values.yaml', 'toggles-values.yaml']) {
      rendered.set(values, await chart.template(join(CHART, 'ci', values)));
    }
  }, 120_000);

  afterAll(async () => {
    await chart?.remove();
  });

  const authConf = (manifests: Manifest[]) =>
    (
      manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'switchboard-nats-auth') as
        (Manifest & { data: Record<string, string> }) | undefined
    )?.data['auth.conf'];

  it('carries the permissions libs/events declares (files/nats-permissions.json is current)', async () => {
    expect(await readFile(CHART_PERMISSIONS, 'utf8'), 'stale: pnpm nats:generate').toBe(await chartPermissions());
  });

  it('renders a users configuration nats-server accepts, with the key of every enabled service', async () => {
    for (const [values, manifests] of rendered) {
      const auth = authConf(manifests);
      expect(auth, values).toBeDefined();
      expect(await checkNatsConfig(auth!), values).toMatch(/configuration file .* is valid/);
    }
    const minimal = authConf(rendered.get('minimal-values.yaml')!)!;
    for (const name of SERVICES) expect(minimal).toContain(`# ${name}\n`);
    expect(minimal).not.toContain('# observer');
  });

  it("gives every service's pod its own seed Secret and no other", () => {
    type Env = { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
    type Container = { name: string; env?: Env[] };
    const manifests = rendered.get('minimal-values.yaml')!;
    const seeds = new Map<string, string[]>();
    for (const workload of manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet')) {
      const containers = (workload as unknown as { spec: { template: { spec: { containers: Container[] } } } }).spec
        .template.spec.containers;
      for (const container of containers) {
        const refs = (container.env ?? [])
          .map((env) => env.valueFrom?.secretKeyRef?.name)
          .filter((name): name is string => name?.startsWith('sb-nats-') ?? false);
        if (refs.length) seeds.set(container.name, refs);
        if (refs.length) {
          expect(container.env!.find((env) => env.name === 'NATS_NKEY_SEED')?.valueFrom?.secretKeyRef?.key).toBe(
            'seed',
          );
        }
      }
    }
    expect(Object.fromEntries(seeds)).toEqual(Object.fromEntries(SERVICES.map((name) => [name, [`sb-nats-${name}`]])));
  });

  it('refuses to render without the public key of an enabled service', async () => {
    await expect(chart.template(join(CHART, 'ci', 'minimal-values.yaml'), 'natsAuth.users.rating=')).rejects.toThrow(
      /natsAuth.users.rating is required/,
    );
  });
});
