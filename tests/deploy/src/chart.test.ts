import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { rulesFile } from '@switchboard/dashboards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART, chartWithoutDependencies, type ChartCopy, type Manifest } from './helm.js';
import { validateManifests } from './kubernetes-schemas.js';

const CI = join(CHART, 'ci');
const VARIANTS = readdirSync(CI).filter((file) => file.endsWith('-values.yaml'));
const SERVICES = ['billing', 'directory', 'fax', 'ivr', 'presence', 'rating', 'routing'];

let chart: ChartCopy;
const rendered = new Map<string, Manifest[]>();

beforeAll(async () => {
  chart = await chartWithoutDependencies();
  for (const variant of VARIANTS) rendered.set(variant, await chart.template(join(CI, variant)));
});

afterAll(async () => {
  await chart?.remove();
});

const ofKind = (manifests: readonly Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);
const named = (manifests: readonly Manifest[], kind: string, name: string) =>
  manifests.find((m) => m.kind === kind && m.metadata.name === name);

interface Container {
  name: string;
  env?: Array<{ name: string; value?: string }>;
  securityContext?: Record<string, unknown>;
  startupProbe?: { grpc?: { port: number } };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
}
const podSpec = (workload: Manifest) => (workload['spec'] as { template: { spec: PodSpec } }).template.spec;
const envOf = (container: Container, name: string) => container.env?.find((entry) => entry.name === name)?.value;

describe('charts/switchboard', () => {
  it('has the variants the tests render', () => {
    expect(VARIANTS.sort()).toEqual(['minimal-values.yaml', 'production-values.yaml', 'toggles-values.yaml']);
  });

  it.each(VARIANTS)('passes helm lint --strict with %s', async (variant) => {
    expect(await chart.lint(join(CI, variant))).toContain('0 chart(s) failed');
  });

  it.each(VARIANTS)('renders %s into manifests valid against the Kubernetes and operator schemas', (variant) => {
    const manifests = rendered.get(variant)!;
    expect(manifests.length).toBeGreaterThan(20);
    expect(validateManifests(manifests)).toEqual([]);
  });

  it('rejects manifests the schemas do not allow (the validation can fail)', () => {
    const deployment = named(rendered.get('minimal-values.yaml')!, 'Deployment', 'sb-ivr')!;
    const broken = structuredClone(deployment);
    (broken['spec'] as { replicas: unknown }).replicas = 'two';
    expect(validateManifests([broken])).toEqual(['Deployment/sb-ivr: data/spec/replicas must be integer']);
    expect(validateManifests([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }])).toEqual([
      'Pod/p: no schema for v1 Pod',
    ]);
  });

  it('renders every service from the components map, secured, probed and with resources', () => {
    const manifests = rendered.get('minimal-values.yaml')!;
    expect(ofKind(manifests, 'Deployment').map((d) => d.metadata.labels?.['app.kubernetes.io/name'])).toEqual([
      ...SERVICES,
      'portal',
    ]);
    for (const service of SERVICES) {
      const deployment = named(manifests, 'Deployment', `sb-${service}`)!;
      const spec = podSpec(deployment);
      const [container] = spec.containers;
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(container!.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(container!.startupProbe?.grpc?.port).toBeGreaterThan(50_000);
      expect(container!.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(container!.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(container!.resources?.requests).toBeDefined();
      expect(container!.resources?.limits).toBeDefined();
      expect(envOf(container!, 'OTEL_SERVICE_NAME')).toBe(service);
      expect(envOf(container!, 'NATS_URL')).toBe('nats://sb-nats:4222');
      expect(named(manifests, 'ServiceAccount', `sb-${service}`)).toBeDefined();
      expect(named(manifests, 'NetworkPolicy', `sb-${service}`)).toBeDefined();
      expect(named(manifests, 'Service', `sb-${service}`)).toBeDefined();
    }
    const routing = podSpec(named(manifests, 'Deployment', 'sb-routing')!);
    expect(routing.terminationGracePeriodSeconds).toBe(300);
    expect(envOf(routing.containers[0]!, 'SHUTDOWN_TIMEOUT_MS')).toBe('295000');
    expect(envOf(routing.containers[0]!, 'GRPC_PORT')).toBe('50058');
  });

  it('runs the portal without NATS, with its signing key from a Secret and every API address', () => {
    const manifests = rendered.get('minimal-values.yaml')!;
    const spec = podSpec(named(manifests, 'Deployment', 'sb-portal')!) as PodSpec & {
      volumes: Array<{ name: string; secret?: { secretName: string } }>;
    };
    const [portal] = spec.containers;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(portal!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(portal!.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(portal!.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(envOf(portal!, 'NATS_URL')).toBeUndefined();
    expect(envOf(portal!, 'PORTAL_PORT')).toBe('8443');
    expect(envOf(portal!, 'PORTAL_SIGNING_KEY_FILE')).toBe('/etc/switchboard/portal/signing-key.json');
    expect(envOf(portal!, 'DIRECTORY_ADDRESS')).toBe('sb-directory:50054');
    expect(envOf(portal!, 'PRESENCE_ADDRESS')).toBe('sb-presence:50057');
    expect(spec.volumes.find((volume) => volume.name === 'portal')?.secret?.secretName).toBe('switchboard-portal');
    expect(named(manifests, 'Secret', 'sb-portal')).toBeUndefined();
    expect(named(manifests, 'NetworkPolicy', 'sb-portal')).toBeDefined();
    // Without an existing Secret the chart stores the given key and accounts in one of its own.
    const toggles = rendered.get('toggles-values.yaml')!;
    const secret = named(toggles, 'Secret', 'sb-portal')!['stringData'] as Record<string, string>;
    expect(Object.keys(secret).sort()).toEqual(['accounts.yaml', 'signing-key.json']);
    expect(envOf(podSpec(named(toggles, 'Deployment', 'sb-portal')!).containers[0]!, 'FAX_ADDRESS')).toBeUndefined();
  });

  it('runs Asterisk as a StatefulSet with one ari-adapter beside it that waits for calls to end', () => {
    const manifests = rendered.get('minimal-values.yaml')!;
    const spec = podSpec(named(manifests, 'StatefulSet', 'sb-asterisk')!);
    expect(spec.containers.map((c) => c.name)).toEqual(['asterisk', 'ari-adapter']);
    expect(spec.terminationGracePeriodSeconds).toBe(3600);
    const adapter = spec.containers[1]!;
    expect(envOf(adapter, 'ARI_URL')).toBe('http://127.0.0.1:8088');
    expect(envOf(adapter, 'DIRECTORY_ADDRESS')).toBe('sb-directory:50054');
    // The number plan comes from the directory; only the tenant of unclaimed calls is configured.
    const adapterConfig = named(manifests, 'ConfigMap', 'sb-asterisk-adapter')!['data'] as Record<string, string>;
    expect(adapterConfig).toMatchObject({ FALLBACK_TENANT: 'provider' });
    expect(adapterConfig['NUMBER_PLAN']).toBeUndefined();
    const production = named(rendered.get('production-values.yaml')!, 'ConfigMap', 'sb-asterisk-adapter')!;
    expect(production['data']).toMatchObject({ FALLBACK_TENANT: 't-kropp' });
    expect(adapter.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsUser: 1000 });
    expect(named(manifests, 'Service', 'sb-asterisk-sip')).toMatchObject({ spec: { type: 'NodePort' } });
  });

  it('gives services the public keys and the adapter its own token, as files; no signing key in the cluster', () => {
    const manifests = rendered.get('minimal-values.yaml')!;
    type Volume = { name: string; secret?: { secretName: string; items: Array<{ key: string; path: string }> } };
    const authOf = (workload: Manifest, container: string) => {
      const spec = podSpec(workload) as PodSpec & { volumes: Volume[] };
      const found = spec.containers.find((c) => c.name === container)!;
      const mounts = (found as Container & { volumeMounts: Array<{ name: string; mountPath: string }> }).volumeMounts;
      return {
        keys: envOf(found, 'AUTH_PUBLIC_KEYS_FILE'),
        token: envOf(found, 'AUTH_SERVICE_TOKEN_FILE'),
        mount: mounts.find((mount) => mount.name === 'auth')?.mountPath,
        items: spec.volumes.find((volume) => volume.name === 'auth')?.secret,
      };
    };
    for (const service of SERVICES) {
      expect(authOf(named(manifests, 'Deployment', `sb-${service}`)!, service), service).toEqual({
        keys: '/etc/switchboard/auth/public-keys.json',
        token: undefined,
        mount: '/etc/switchboard/auth',
        items: { secretName: 'sb-auth', items: [{ key: 'public-keys.json', path: 'public-keys.json' }] },
      });
    }
    expect(authOf(named(manifests, 'StatefulSet', 'sb-asterisk')!, 'ari-adapter')).toEqual({
      keys: '/etc/switchboard/auth/public-keys.json',
      token: '/etc/switchboard/auth/service-token',
      mount: '/etc/switchboard/auth',
      items: {
        secretName: 'sb-auth',
        items: [
          { key: 'public-keys.json', path: 'public-keys.json' },
          { key: 'ari-adapter.token', path: 'service-token' },
        ],
      },
    });
    const secret = named(manifests, 'Secret', 'sb-auth')!['stringData'] as Record<string, string>;
    expect(Object.keys(secret).sort()).toEqual(['ari-adapter.token', 'public-keys.json']);
    const everything = JSON.stringify(manifests);
    expect(everything).not.toMatch(/AUTH_SIGNING_KEY/);
    expect((JSON.parse(secret['public-keys.json']!) as { keys: object[] }).keys.every((key) => !('d' in key))).toBe(
      true,
    );
    // With an existing Secret the chart makes none and mounts that one.
    const production = rendered.get('production-values.yaml')!;
    expect(named(production, 'Secret', 'switchboard-auth')).toBeUndefined();
    expect(authOf(named(production, 'Deployment', 'sb-ivr')!, 'ivr').items?.secretName).toBe('switchboard-auth');
  });

  it('ships each generated dashboard as a ConfigMap for the Grafana sidecar', () => {
    const dashboards = ofKind(rendered.get('minimal-values.yaml')!, 'ConfigMap').filter(
      (m) => m.metadata.labels?.['grafana_dashboard'] === '1',
    );
    expect(dashboards.map((m) => m.metadata.name).sort()).toEqual(
      ['agents', 'calls', 'platform', 'usage'].map((name) => `sb-dashboard-${name}`),
    );
    for (const configMap of dashboards) {
      const [json] = Object.values(configMap['data'] as Record<string, string>);
      expect((JSON.parse(json!) as { uid: string }).uid).toBe(
        configMap.metadata.name.replace('sb-dashboard-', 'switchboard-'),
      );
    }
  });

  it('turns on HPA, PDB and ServiceMonitor per component in production, with the generated alert rules', () => {
    const manifests = rendered.get('production-values.yaml')!;
    for (const service of SERVICES) {
      expect(named(manifests, 'HorizontalPodAutoscaler', `sb-${service}`), service).toBeDefined();
      expect(named(manifests, 'PodDisruptionBudget', `sb-${service}`), service).toBeDefined();
      expect(named(manifests, 'ServiceMonitor', `sb-${service}`), service).toBeDefined();
      expect(
        (named(manifests, 'Deployment', `sb-${service}`)!['spec'] as { replicas?: number }).replicas,
      ).toBeUndefined();
    }
    expect(named(manifests, 'ServiceMonitor', 'sb-ari-adapter')).toBeDefined();
    expect(named(manifests, 'PodDisruptionBudget', 'sb-asterisk')).toBeDefined();
    expect(named(manifests, 'PrometheusRule', 'sb-alerts')!['spec']).toEqual(rulesFile());
    const billing = podSpec(named(manifests, 'Deployment', 'sb-billing')!).containers[0]!;
    expect(billing.env?.find((entry) => entry.name === 'MONGO_URL')).toEqual({
      name: 'MONGO_URL',
      valueFrom: { secretKeyRef: { name: 'switchboard-mongodb', key: 'MONGO_URL' } },
    });
  });

  it('leaves out what is switched off', () => {
    const manifests = rendered.get('toggles-values.yaml')!;
    expect(ofKind(manifests, 'StatefulSet')).toEqual([]);
    expect(ofKind(manifests, 'NetworkPolicy')).toEqual([]);
    expect(ofKind(manifests, 'ConfigMap').filter((m) => m.metadata.labels?.['grafana_dashboard'])).toEqual([]);
    expect(named(manifests, 'Deployment', 'sb-fax')).toBeUndefined();
    expect(ofKind(manifests, 'HorizontalPodAutoscaler').map((m) => m.metadata.name)).toEqual(['sb-ivr']);
    expect(ofKind(manifests, 'PodDisruptionBudget').map((m) => m.metadata.name)).toEqual(['sb-ivr']);
    const directory = podSpec(named(manifests, 'Deployment', 'sb-directory')!).containers[0]!;
    expect(envOf(directory, 'NATS_URL')).toBe('tls://nats.example.org:4222');
    expect(envOf(directory, 'MONGO_URL')).toBe('mongodb+srv://switchboard.example.org/');
  });

  it('rejects an unknown value key, a wrong type and a missing external URL', async () => {
    const minimal = join(CI, 'minimal-values.yaml');
    await expect(chart.template(minimal, 'components.ivr.replicass=2')).rejects.toThrow(
      /additional properties 'replicass' not allowed/,
    );
    await expect(chart.template(minimal, 'networkPolicy.enabeld=true')).rejects.toThrow(/additional properties/);
    await expect(chart.template(minimal, 'components.ivr.grpcPort=http')).rejects.toThrow(/grpcPort/);
    await expect(chart.template(minimal, 'mongodb.enabled=false')).rejects.toThrow(/externalMongodb.url/);
  });
});
