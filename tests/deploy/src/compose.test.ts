import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alertRules } from '@switchboard/dashboards';
import {
  parsePublicKeys,
  parseSigningKey,
  publicKeyOf,
  publicKeyRing,
  tokenKid,
  verifyToken,
} from '@switchboard/tokens';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART, REPO } from './helm.js';

// No Docker engine here: `docker-compose config` (Debian's docker-compose 1.29, installed by
// scripts/bootstrap) validates the file against the Compose specification schema client-side and
// resolves anchors, merges and paths; promtool checks the Prometheus config it mounts.

const run = promisify(execFile);
const COMPOSE = join(REPO, 'docker', 'compose.yaml');
const SERVICES = ['ari-adapter', 'billing', 'directory', 'fax', 'ivr', 'presence', 'rating', 'routing'];

interface ComposeService {
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  network_mode?: string;
  volumes?: string[];
  image?: string;
}

let scratch: string | undefined;

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('docker/compose.yaml', () => {
  it('passes `docker-compose config` with every service, the infrastructure, Prometheus and Grafana', async () => {
    const { stdout } = await run('docker-compose', ['-f', COMPOSE, 'config']);
    const config = parse(stdout) as { services: Record<string, ComposeService> };
    expect(Object.keys(config.services).sort()).toEqual(
      [...SERVICES, 'asterisk', 'grafana', 'mailpit', 'mongodb', 'nats', 'portal', 'prometheus'].sort(),
    );
    // The portal talks gRPC only and mints its users' tokens with the dev signing key.
    const portalEnv = config.services['portal']!.environment!;
    expect(portalEnv['NATS_URL']).toBeUndefined();
    expect(portalEnv['DIRECTORY_ADDRESS']).toBe('directory:50054');
    expect(portalEnv['PORTAL_SIGNING_KEY_FILE']).toBe('/run/secrets/portal-signing-key');
    for (const name of SERVICES) {
      const service = config.services[name]!;
      expect(service.build, name).toEqual({
        context: REPO.replace(/\/$/, ''),
        dockerfile: `services/${name}/Dockerfile`,
      });
      expect(service.environment?.['NATS_URL'], name).toBe('nats://nats:4222');
    }
    expect(config.services['ari-adapter']!.network_mode).toBe('service:asterisk');
    // The adapter reads the number plan and the devices from the directory (it refuses NUMBER_PLAN
    // beside it); unclaimed calls go to the demo tenant.
    const adapterEnv = config.services['ari-adapter']!.environment!;
    expect(adapterEnv['DIRECTORY_ADDRESS']).toBe('directory:50054');
    expect(adapterEnv['NUMBER_PLAN']).toBeUndefined();
    const demo = parse(await readFile(join(REPO, 'services', 'directory', 'demo', 'amt-kropp.yaml'), 'utf8')) as {
      tenant: { tenantId: string };
    };
    expect(adapterEnv['FALLBACK_TENANT']).toBe(demo.tenant.tenantId);
    // Services only verify: each has the dev key set, none a signing key; the adapter's own token
    // is one the directory accepts (checked at the time it was issued: the checked-in token ages).
    const devAuth = join(REPO, 'docker', 'dev-auth');
    const publicKeys = parsePublicKeys(await readFile(join(devAuth, 'public-keys.json'), 'utf8'));
    const signingKey = parseSigningKey(await readFile(join(devAuth, 'signing-key.json'), 'utf8'));
    expect(publicKeys.keys).toEqual([publicKeyOf(signingKey)]);
    for (const name of SERVICES) {
      const env = config.services[name]!.environment!;
      expect(parsePublicKeys(env['AUTH_PUBLIC_KEYS']!), name).toEqual(publicKeys);
      expect(
        Object.keys(env).filter((key) => key.startsWith('AUTH_SIGNING_KEY')),
        name,
      ).toEqual([]);
    }
    const adapterToken = adapterEnv['AUTH_SERVICE_TOKEN']!;
    expect(tokenKid(adapterToken)).toBe(signingKey.kid);
    const issuedAt = JSON.parse(Buffer.from(adapterToken.split('.')[1]!, 'base64url').toString()) as { iat: number };
    const options = { issuer: 'switchboard', audience: 'switchboard', currentDate: new Date(issuedAt.iat * 1000) };
    expect(await verifyToken(adapterToken, publicKeyRing(publicKeys), options)).toEqual({
      subject: 'ari-adapter',
      tenantId: '*',
      role: 'service',
    });
    expect(config.services['asterisk']!.build).toEqual({
      context: REPO.replace(/\/$/, ''),
      dockerfile: 'docker/asterisk/Dockerfile',
    });
    expect(config.services['prometheus']!.volumes).toContain(`${join(CHART, 'rules')}:/etc/prometheus/rules:ro`);
    expect(config.services['grafana']!.volumes).toContain(
      `${join(CHART, 'dashboards')}:/var/lib/grafana/dashboards/switchboard:ro`,
    );
  });

  it('is rejected by the same check when it names an unknown option (the check can fail)', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'sb-compose-'));
    const broken = join(scratch, 'compose.yaml');
    await cp(COMPOSE, broken);
    await run('sed', ['-i', 's/^    network_mode:/    network_mod:/', broken]);
    await expect(run('docker-compose', ['-f', broken, 'config'])).rejects.toThrow(/network_mod/);
  });

  it('mounts a Prometheus config that promtool accepts, with the rules and a job per service', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sb-prometheus-config-'));
    try {
      await cp(join(REPO, 'docker', 'prometheus', 'prometheus.yml'), join(dir, 'prometheus.yml'));
      await cp(join(CHART, 'rules'), join(dir, 'rules'), { recursive: true });
      const { stdout } = await run('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(stdout).toContain(`SUCCESS: ${alertRules.length} rules found`);
      const text = await readFile(join(dir, 'prometheus.yml'), 'utf8');
      const jobs = (parse(text) as { scrape_configs: Array<{ job_name: string }> }).scrape_configs.map(
        (j) => j.job_name,
      );
      expect(jobs.sort()).toEqual(SERVICES);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
