import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { startMongo, startNats, type MongoServer, type NatsServer, testTokens } from '@switchboard/testkit';
import { DockerfileParser, type Dockerfile, type Instruction } from 'dockerfile-ast';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART, REPO } from './helm.js';

// The images cannot be built here (no Docker engine), so their Dockerfiles are parsed and held to
// what the chart and the services expect, and the `pnpm deploy --prod` step is run for real.

const SERVICES = readdirSync(join(REPO, 'services')).filter((name) =>
  existsSync(join(REPO, 'services', name, 'Dockerfile')),
);
const CMD = ['node', '--import', '@switchboard/service-kit/instrument', 'dist/main.js'];

const dockerfile = (service: string): Dockerfile =>
  DockerfileParser.parse(readFileSync(join(REPO, 'services', service, 'Dockerfile'), 'utf8'));

/** Instructions of the last stage (the image that ships). */
function finalStage(file: Dockerfile): Instruction[] {
  const lastFrom = file.getFROMs().at(-1)!;
  return file
    .getInstructions()
    .filter((instruction) => instruction.getRange().start.line >= lastFrom.getRange().start.line);
}

const argumentsOf = (instruction: Instruction) => instruction.getArguments().map((argument) => argument.getValue());

/** The gRPC port each service listens on by default, from its config (or the kit's). */
function defaultGrpcPort(service: string): number {
  const config = join(REPO, 'services', service, 'src', 'config.ts');
  const match = /GRPC_PORT:[^\n]*default\(([\d_]+)\)/.exec(existsSync(config) ? readFileSync(config, 'utf8') : '');
  if (match) return Number(match[1]!.replaceAll('_', ''));
  const kit = readFileSync(join(REPO, 'libs', 'service-kit', 'src', 'config.ts'), 'utf8');
  return Number(/GRPC_PORT: port\.default\((\d+)\)/.exec(kit)![1]);
}

/** The gRPC port the chart gives each service. */
function chartGrpcPort(service: string): number {
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as {
    components: Record<string, { grpcPort: number }>;
    asterisk: { ariAdapter: { grpcPort: number } };
  };
  if (service === 'ari-adapter') return values.asterisk.ariAdapter.grpcPort;
  const key = service.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
  return values.components[key]!.grpcPort;
}

describe('service Dockerfiles', () => {
  it('exist for every service', () => {
    expect(SERVICES).toEqual(
      expect.arrayContaining(['ari-adapter', 'billing', 'directory', 'fax', 'ivr', 'presence', 'rating']),
    );
  });

  it.each(SERVICES)('%s: builds in one stage and ships a slim, non-root second stage', (service) => {
    const file = dockerfile(service);
    const froms = file.getFROMs();
    expect(froms).toHaveLength(2);
    expect(froms[0]!.getBuildStage()).toBe('build');
    for (const from of froms) expect(`${from.getImageName()}:${from.getImageTag()}`).toBe('node:20.20-bookworm-slim');

    const build = file.getInstructions().filter((i) => i.getRange().start.line < froms[1]!.getRange().start.line);
    const buildRuns = build
      .filter((i) => i.getKeyword() === 'RUN')
      .map((i) => i.getArgumentsContent() ?? '')
      .join('\n');
    expect(buildRuns).toContain('pnpm install --frozen-lockfile');
    expect(buildRuns).toContain(`pnpm --filter @switchboard/${service} deploy --prod /out`);

    const final = finalStage(file);
    const keywords = final.map((i) => i.getKeyword());
    // No package manager runs in the shipped stage: it only copies what `pnpm deploy` collected.
    expect(final.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent())).not.toContainEqual(
      expect.stringMatching(/pnpm|npm (ci|install)/),
    );
    const copies = file
      .getCOPYs()
      .filter((copy) => final.includes(copy))
      .map((copy) => `${copy.getFromFlag()?.getValue() ?? ''}: ${copy.getArgumentsContent() ?? ''}`);
    expect(copies).toContain('build: /out ./');
    expect(copies).toContain('build: /src/proto ./proto');
    expect(final.find((i) => i.getKeyword() === 'ENV')?.getArgumentsContent()).toContain(
      `SWITCHBOARD_PROTO_ROOT=/app/proto OTEL_SERVICE_NAME=${service}`,
    );

    const users = final.filter((i) => i.getKeyword() === 'USER').map(argumentsOf);
    expect(users).toEqual([['1000:1000']]);
    expect(keywords.indexOf('USER')).toBeLessThan(keywords.indexOf('CMD'));

    const [cmd] = file.getCMDs();
    expect(cmd!.getJSONStrings().map((s) => s.getJSONValue())).toEqual(CMD);
  });

  // The portal has no gRPC API: its second port is the web listener (PORTAL_PORT, the chart's portal.webPort).
  it('portal: exposes the HTTP port and the web port its config and the chart use', () => {
    const exposed = finalStage(dockerfile('portal'))
      .filter((i) => i.getKeyword() === 'EXPOSE')
      .flatMap(argumentsOf)
      .map(Number);
    const config = readFileSync(join(REPO, 'services', 'portal', 'src', 'config.ts'), 'utf8');
    const web = Number(/PORTAL_PORT:[^\n]*default\(([\d_]+)\)/.exec(config)![1]!.replaceAll('_', ''));
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { portal: { webPort: number } };
    expect(values.portal.webPort).toBe(web);
    expect(exposed.sort()).toEqual([8080, web].sort());
  });

  it.each(SERVICES.filter((service) => service !== 'portal'))(
    '%s: exposes the HTTP port and the gRPC port its config and the chart use',
    (service) => {
      const exposed = finalStage(dockerfile(service))
        .filter((i) => i.getKeyword() === 'EXPOSE')
        .flatMap(argumentsOf)
        .map(Number);
      const grpc = defaultGrpcPort(service);
      expect(chartGrpcPort(service)).toBe(grpc);
      expect(exposed.sort()).toEqual([8080, grpc].sort());
    },
  );
});

describe('pnpm deploy --prod of a service', () => {
  let dir: string | undefined;
  let nats: NatsServer | undefined;
  let mongo: MongoServer | undefined;

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await Promise.all([nats?.stop(), mongo?.stop()]);
  });

  it('collects no dev dependencies and the result starts as the image starts it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-deploy-'));
    const out = join(dir, 'ivr');
    // --prefer-offline, not --offline: a fresh machine's `pnpm install --frozen-lockfile` leaves no
    // metadata cache, so pnpm must be free to ask the registry for what the store lacks.
    await promisify(execFile)('pnpm', ['--filter', '@switchboard/ivr', 'deploy', '--prod', '--prefer-offline', out], {
      cwd: REPO,
    });
    // Top level: exactly the service's production dependencies.
    const manifest = JSON.parse(readFileSync(join(REPO, 'services', 'ivr', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const topLevel = readdirSync(join(out, 'node_modules'))
      .filter((entry) => !entry.startsWith('.'))
      .flatMap((entry) =>
        entry.startsWith('@')
          ? readdirSync(join(out, 'node_modules', entry)).map((name) => `${entry}/${name}`)
          : [entry],
      );
    expect(topLevel.sort()).toEqual(Object.keys(manifest.dependencies).sort());
    // And none of the workspace's tooling anywhere in the tree.
    const installed = readdirSync(join(out, 'node_modules', '.pnpm'));
    for (const dev of ['vitest', 'typescript', 'tsx', 'eslint', 'prettier', '@switchboard+testkit', 'ts-proto']) {
      expect(
        installed.filter((entry) => entry.startsWith(`${dev}@`)),
        dev,
      ).toEqual([]);
    }
    expect(existsSync(join(out, 'node_modules', '@switchboard', 'service-kit', 'dist', 'instrument.js'))).toBe(true);

    [nats, mongo] = await Promise.all([startNats(), startMongo()]);
    const child = spawn(process.execPath, CMD.slice(1), {
      cwd: out,
      env: {
        PATH: process.env['PATH'],
        NODE_ENV: 'production',
        SWITCHBOARD_PROTO_ROOT: join(REPO, 'proto'),
        OTEL_SERVICE_NAME: 'ivr',
        BIND_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        GRPC_PORT: '0',
        ...nats.env('ivr'),
        MONGO_URL: mongo.url,
        MONGO_DB: 'deploy_test',
        ...testTokens().env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('"msg":"ivr ready"')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`ivr exited with ${code}:\n${output}`)));
    });
    await ready;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal, output: code === 0 ? '' : output }).toEqual({ code: 0, signal: null, output: '' });
  });
});

describe('the Asterisk Dockerfile', () => {
  const file = DockerfileParser.parse(readFileSync(join(REPO, 'docker', 'asterisk', 'Dockerfile'), 'utf8'));

  it('builds Asterisk with the recipe the tests use (scripts/asterisk/build), not a distribution package', () => {
    const runs = file
      .getInstructions()
      .filter((instruction) => instruction.getKeyword() === 'RUN')
      .map((instruction) => instruction.getArgumentsContent() ?? '');
    expect(runs.some((run) => run.includes('scripts/asterisk/build --prefix /usr'))).toBe(true);
    expect(runs.some((run) => run.includes('scripts/asterisk/sounds'))).toBe(true);
    expect(runs.join('\n')).not.toMatch(/apt-get install[^&]*\basterisk\b(?!-core-sounds)/);
  });

  it('copies only files that exist in the repository and runs as the fixed asterisk user', () => {
    for (const copy of file.getCOPYs().filter((instruction) => !instruction.getFromFlag())) {
      const sources = copy.getArguments().slice(0, -1);
      for (const source of sources.map((argument) => argument.getValue())) {
        if (source === 'docker/asterisk/vendor/') continue; // put there by scripts/asterisk/vendor
        const pattern = source.replace(/\*.*$/, '');
        expect(existsSync(join(REPO, pattern)), source).toBe(true);
      }
    }
    expect(
      finalStage(file)
        .filter((i) => i.getKeyword() === 'USER')
        .map(argumentsOf),
    ).toEqual([['10001:10001']]);
  });
});
