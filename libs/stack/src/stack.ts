import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAriSim, type AriSim, type AriSimOptions, type EndpointBehavior } from '@switchboard/ari-sim';
import type { Principal } from '@switchboard/service-kit';
import {
  startMongo,
  startNats,
  startSmtpSink,
  type NatsTestCredentials,
  type NatsUserName,
  type RestartOptions,
  type SmtpSink,
} from '@switchboard/testkit';
import { ANY_TENANT, createTokenIssuer, generateSigningKey, publicKeyOf } from '@switchboard/tokens';
import { REPO_ROOT, spawnService, type ServiceProcess } from './child.js';
import { portalFiles, portalPort, type StackPortal } from './portal.js';
import {
  CALL_PATH,
  DEMO_SELLER,
  FRONT_ENDS,
  MONGO_SERVICES,
  PORTAL_BACKENDS,
  SERVICE_NAMES,
  type ServiceName,
} from './services.js';
import {
  DEMO_POOL,
  assignPool,
  awaitAgents,
  configurePhones,
  importTenant,
  numberPlan,
  readTenant,
  saveMenus,
} from './tenant.js';

export const DEFAULT_TENANT_FILE = path.join(REPO_ROOT, 'services/directory/demo/amt-kropp.yaml');
export const DEFAULT_MENUS_FILE = path.join(REPO_ROOT, 'services/ivr/demo/amt-kropp-menus.yaml');

const ARI_USER = 'switchboard';
const ADAPTER_ID = 'pbx-1';

export interface StackOptions {
  /** Default: all of them. */
  services?: readonly ServiceName[];
  /** Processes per service (default 1). The ari-adapter is one per Asterisk: more than 1 is refused. */
  replicas?: Partial<Record<ServiceName, number>>;
  /** Directory import document; default the demo tenant `services/directory/demo/amt-kropp.yaml`. */
  tenantFile?: string;
  /** IVR menus (`menus:` as proto JSON); default the demo menus when `tenantFile` is the default. */
  menusFile?: string;
  /** Whole-week opening hours, no local closing days (default false; the demo sets it). */
  alwaysOpen?: boolean;
  /** Sign every agent in as available once presence knows them (default true). */
  staffAvailable?: boolean;
  /** How staff phones and home-office numbers behave in ari-sim at first (default: answer after 2 s). */
  phoneBehavior?: EndpointBehavior;
  /** Options of the in-process ari-sim besides its credentials (e.g. timeScale). */
  ariSim?: Omit<AriSimOptions, 'username' | 'password'>;
  /** A real Asterisk's ARI (e.g. testkit's `startAsterisk()`) instead of the in-process ari-sim. */
  asterisk?: { ariUrl: string; ariUsername: string; ariPassword: string };
  /** Extra env for every service (e.g. OTEL_EXPORTER_OTLP_ENDPOINT). */
  env?: Record<string, string>;
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Service logs go to `<logDir>/<name>-<replica>.log`; default a new temp directory (kept). */
  logDir?: string;
  /** Per process, until `/readyz` answers (default 60 s: two shared cores). */
  readyTimeoutMs?: number;
  /** Stop the stack and exit on SIGINT/SIGTERM of this process (default true). */
  handleSignals?: boolean;
}

export interface ServiceRestartOptions extends RestartOptions {
  /** How the replica is ended (default SIGTERM: a graceful shutdown; SIGKILL: a crash). */
  signal?: 'SIGTERM' | 'SIGKILL';
}

export interface StackService {
  name: ServiceName;
  replica: number;
  pid: number;
  grpcPort: number;
  httpPort: number;
  logFile: string;
}

export interface Stack {
  natsUrl: string;
  /**
   * Credentials on the stack's NATS (auth on, keys made at start): a service's, `observer`'s
   * (read-only call and rating events) or `tester`'s (anything, for tests faking a service).
   */
  natsCredentials(user: NatsUserName): NatsTestCredentials;
  mongoUrl: string;
  /** The in-process emulator; a stack on a real Asterisk has none (reading it throws). */
  readonly ariSim: AriSim;
  tenantId: string;
  /** Mail the fax service sent (a real SMTP server on loopback); empty without the fax service. */
  readonly mail: SmtpSink['messages'];
  /** Waits for a mail the fax service sends; fails at once on a stack without it. */
  waitForMail: SmtpSink['waitForMessage'];
  /** Where the service logs are. */
  logDir: string;
  /** The running processes (a killed one is removed). */
  services: StackService[];
  /** A bearer token for the services' gRPC APIs (default: admin of the stack's tenant, 15 minutes). */
  token(principal?: Partial<Principal>): Promise<string>;
  /** `127.0.0.1:<port>` of a service's gRPC API (first running replica). */
  grpcAddress(name: ServiceName): string;
  /** host:port of every service's `/metrics`. */
  metricsTargets(): string[];
  /** Signals one replica (default 0, SIGTERM) and waits until it exited. */
  kill(name: ServiceName, replica?: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts a replica that is not running (killed, or beyond `replicas`) with the env every replica
   * of the service gets (NATS, Mongo and service addresses as they are now); it takes the ports it
   * had before when they are free, else new ones (`services` and `metricsTargets()` follow).
   * Resolves once its `/readyz` answers; a start that fails rejects with the tail of its log.
   */
  start(name: ServiceName, replica?: number): Promise<StackService>;
  /** `kill(name, replica, signal)` (default SIGTERM), waits `downMs` (default 0), then `start`. */
  restart(name: ServiceName, replica?: number, options?: ServiceRestartOptions): Promise<StackService>;
  /**
   * Stops NATS (SIGTERM), waits `downMs`, starts it again on the same port with the same
   * JetStream store and users; resolves once it accepts connections. Services reconnect on their own.
   */
  restartNats(options?: RestartOptions): Promise<void>;
  /** Stops FerretDB for `downMs` and starts it again on the same port with the same data. */
  restartMongo(options?: RestartOptions): Promise<void>;
  /** Stops everything it started, call path first, infrastructure last; safe to call twice. */
  stop(): Promise<void>;
  /** The portal's address and the sign-ins made for the tenant; undefined without the portal. */
  readonly portal: StackPortal | undefined;
}

/**
 * The whole system on this machine: NATS and FerretDB (testkit), ari-sim in this process, every
 * service as a child process on free loopback ports, and the tenant loaded (directory import, IVR
 * menus, phones in ari-sim, agents signed in). A failure on the way stops what was started.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const wanted = new Set(options.services ?? SERVICE_NAMES);
  const names = SERVICE_NAMES.filter((name) => wanted.has(name));
  if ((options.replicas?.['ari-adapter'] ?? 1) > 1) {
    throw new Error('one ari-adapter per Asterisk: ari-sim has one Stasis app, so replicas["ari-adapter"] must be 1');
  }
  const logDir = options.logDir ?? (await mkdtemp(path.join(tmpdir(), 'sb-stack-logs-')));
  await mkdir(logDir, { recursive: true });
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const deviceSecretKey = randomBytes(32).toString('hex');
  const ariPassword = randomBytes(12).toString('hex');
  // Services get only the public key and each its own service token; the stack is the issuer.
  const signingKey = generateSigningKey();
  const publicKeys = JSON.stringify({ keys: [publicKeyOf(signingKey)] });
  const issuer = createTokenIssuer({ signingKey, issuer: 'switchboard', audience: 'switchboard' });
  const serviceTokens = new Map(
    await Promise.all(
      names.map(
        async (name) => [name, await issuer.issue({ subject: name, tenantId: ANY_TENANT, role: 'service' })] as const,
      ),
    ),
  );

  const processes: ServiceProcess[] = [];
  const services: StackService[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  let stopping: Promise<void> | undefined;

  const stopProcesses = async (which: (name: ServiceName) => boolean) => {
    const chosen = processes.filter((process) => which(process.name));
    await Promise.all(chosen.map((process) => process.stop()));
  };
  const stop = () => {
    stopping ??= (async () => {
      removeSignalHandlers();
      await stopProcesses((name) => CALL_PATH.includes(name));
      await stopProcesses(() => true);
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void stop().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const removeSignalHandlers = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  if (options.handleSignals ?? true) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  try {
    const tenant = await readTenant(options.tenantFile ?? DEFAULT_TENANT_FILE, options.alwaysOpen ?? false);
    const menusFile = options.menusFile ?? (options.tenantFile ? undefined : DEFAULT_MENUS_FILE);

    // Each server is remembered for cleanup as soon as it is up, even if another fails to start.
    const started = <T extends { stop(): Promise<void> }>(server: Promise<T>): Promise<T> =>
      server.then((running) => {
        cleanups.push(() => running.stop());
        return running;
      });
    const [nats, mongo, smtp] = await Promise.all([
      started(startNats()),
      started(startMongo()),
      wanted.has('fax') ? started(startSmtpSink()) : undefined,
    ]);
    // The portal's signing key and accounts, in a private directory removed at stop.
    const portalDir = wanted.has('portal') ? await mkdtemp(path.join(tmpdir(), 'sb-stack-portal-')) : undefined;
    if (portalDir) cleanups.push(() => rm(portalDir, { recursive: true, force: true }));
    const portal = portalDir
      ? await portalFiles(portalDir, signingKey, tenant.tenantId, tenant.document.departments[0]?.departmentId)
      : undefined;
    let portalUrl = '';
    const ari = options.asterisk ?? { ariUsername: ARI_USER, ariPassword, ariUrl: '' };
    let ariSim: AriSim | undefined;
    if (!options.asterisk) {
      // With the directory, the devices exist only once the adapter has pushed them, as on Asterisk.
      ariSim = await startAriSim({
        deviceEndpoints: wanted.has('directory') ? 'pushed' : 'static',
        ...options.ariSim,
        username: ari.ariUsername,
        password: ari.ariPassword,
      });
      cleanups.push(() => ariSim!.stop());
      ari.ariUrl = ariSim.url;
      configurePhones(ariSim, tenant.document, options.phoneBehavior ?? { answerAfterMs: 2_000 });
    }

    const envFor = (name: ServiceName): Record<string, string> => ({
      // The portal talks gRPC only: no NATS identity.
      ...(name === 'portal' ? {} : nats.env(name)),
      AUTH_PUBLIC_KEYS: publicKeys,
      AUTH_SERVICE_TOKEN: serviceTokens.get(name)!,
      BIND_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '5000',
      OTEL_SERVICE_NAME: name,
      ...(MONGO_SERVICES.has(name) ? { MONGO_URL: mongo.url, MONGO_DB: name.replace('-', '_') } : {}),
      ...(name === 'fax' && smtp ? { SMTP_URL: smtp.url } : {}),
      ...(name === 'billing' ? DEMO_SELLER : {}),
      ...(name === 'directory' ? { DEVICE_SECRET_KEY: deviceSecretKey } : {}),
      ...(name === 'portal' && portal
        ? {
            ...portal.env,
            ...Object.fromEntries(
              PORTAL_BACKENDS.filter((backend) => wanted.has(backend)).map((backend) => [
                `${backend.toUpperCase()}_ADDRESS`,
                grpcAddress(backend),
              ]),
            ),
          }
        : {}),
      ...(name === 'ari-adapter'
        ? {
            ARI_URL: ari.ariUrl,
            ARI_USERNAME: ari.ariUsername,
            ARI_PASSWORD: ari.ariPassword,
            ADAPTER_ID,
            // With the directory the adapter reads the number plan and the devices from there.
            ...(wanted.has('directory')
              ? { DIRECTORY_ADDRESS: grpcAddress('directory'), FALLBACK_TENANT: tenant.tenantId }
              : { NUMBER_PLAN: numberPlan(tenant) }),
          }
        : {}),
      ...options.env,
      ...options.serviceEnv?.[name],
    });
    // A replica started again asks for the ports it had, so clients holding its address (the
    // adapter's DIRECTORY_ADDRESS, a Prometheus target) find it again.
    const lastPorts = new Map<string, { grpcPort: number; httpPort: number }>();
    const starting = new Set<string>();
    const startReplica = async (name: ServiceName, replica: number): Promise<StackService> => {
      const key = `${name}/${replica}`;
      const spawnWith = (ports?: { grpcPort: number; httpPort: number }) =>
        spawnService({
          name,
          replica,
          env: {
            ...envFor(name),
            ...(ports ? { HTTP_PORT: String(ports.httpPort), GRPC_PORT: String(ports.grpcPort) } : {}),
          },
          logDir,
          readyTimeoutMs,
        });
      const previous = lastPorts.get(key);
      const started = await spawnWith(previous).catch((error: unknown) => {
        // Taken by someone else meanwhile: new ports are fine.
        if (previous && /EADDRINUSE/.test((error as Error).message)) return spawnWith();
        throw error;
      });
      if (stopping) {
        // stop() ran while this one started: it would not have seen it.
        await started.stop();
        throw new Error(`the stack stopped while ${name} replica ${replica} started`);
      }
      lastPorts.set(key, { grpcPort: started.grpcPort, httpPort: started.httpPort });
      if (name === 'portal') portalUrl = `http://127.0.0.1:${await portalPort(started.logFile)}`;
      processes.push(started);
      const service: StackService = {
        name,
        replica,
        pid: started.pid,
        grpcPort: started.grpcPort,
        httpPort: started.httpPort,
        logFile: started.logFile,
      };
      services.push(service);
      return service;
    };
    const startAll = async (group: ServiceName[]) => {
      const starts = group.flatMap((name) =>
        Array.from({ length: options.replicas?.[name] ?? 1 }, (_, replica) => startReplica(name, replica)),
      );
      const results = await Promise.allSettled(starts);
      const failure = results.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
    };
    const kill = async (name: ServiceName, replica = 0, signal: NodeJS.Signals = 'SIGTERM') => {
      const index = processes.findIndex((process) => process.name === name && process.replica === replica);
      if (index < 0) throw new Error(`no running ${name} replica ${replica}`);
      await processes[index]!.stop(signal);
      processes.splice(index, 1);
      services.splice(
        services.findIndex((service) => service.name === name && service.replica === replica),
        1,
      );
    };
    const start = async (name: ServiceName, replica = 0) => {
      if (stopping) throw new Error(`the stack is stopping: ${name} replica ${replica} is not started`);
      if (!wanted.has(name)) throw new Error(`${name} is not part of this stack (services: ${names.join(', ')})`);
      if (name === 'ari-adapter' && replica !== 0) throw new Error('one ari-adapter per Asterisk: only replica 0');
      const key = `${name}/${replica}`;
      if (starting.has(key) || processes.some((process) => process.name === name && process.replica === replica)) {
        throw new Error(`${name} replica ${replica} is running already`);
      }
      starting.add(key);
      try {
        return await startReplica(name, replica);
      } finally {
        starting.delete(key);
      }
    };

    const token = (principal: Partial<Principal> = {}) =>
      issuer.issue({ subject: 'stack', tenantId: tenant.tenantId, role: 'admin', ...principal });
    const grpcAddress = (name: ServiceName) => {
      const found = services.find((service) => service.name === name);
      if (!found) throw new Error(`${name} is not running in this stack`);
      return `127.0.0.1:${found.grpcPort}`;
    };
    const port = (name: ServiceName) => services.find((service) => service.name === name)!.grpcPort;

    await startAll(names.filter((name) => !CALL_PATH.includes(name) && !FRONT_ENDS.includes(name)));
    const admin = await token();
    if (wanted.has('directory')) await importTenant(port('directory'), admin, tenant);
    if (wanted.has('directory') && !options.tenantFile) {
      const operator = await token({ tenantId: ANY_TENANT, role: 'operator' });
      await assignPool(port('directory'), operator, tenant.tenantId, DEMO_POOL);
    }
    if (wanted.has('ivr') && menusFile) await saveMenus(port('ivr'), admin, tenant.tenantId, menusFile);
    if (wanted.has('directory') && wanted.has('presence')) {
      await awaitAgents(port('presence'), admin, tenant, options.staffAvailable ?? true, readyTimeoutMs);
    }
    await startAll(names.filter((name) => CALL_PATH.includes(name)));
    await startAll(names.filter((name) => FRONT_ENDS.includes(name)));

    return {
      natsUrl: nats.url,
      natsCredentials: (user) => nats.credentials(user),
      mongoUrl: mongo.url,
      get ariSim(): AriSim {
        if (!ariSim) throw new Error('this stack runs against a real Asterisk: it has no ari-sim');
        return ariSim;
      },
      tenantId: tenant.tenantId,
      mail: smtp?.messages ?? [],
      waitForMail: (what, match, timeoutMs) =>
        smtp
          ? smtp.waitForMessage(what, match, timeoutMs)
          : Promise.reject(new Error(`waiting for ${what}: this stack runs no fax service, so no mail`)),
      logDir,
      services,
      token,
      grpcAddress,
      metricsTargets: () => services.map((service) => `127.0.0.1:${service.httpPort}`),
      kill,
      start,
      restart: async (name, replica = 0, { signal = 'SIGTERM', downMs = 0 } = {}) => {
        await kill(name, replica, signal);
        if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
        return start(name, replica);
      },
      restartNats: (restartOptions) => nats.restart(restartOptions),
      restartMongo: (restartOptions) => mongo.restart(restartOptions),
      stop,
      get portal(): StackPortal | undefined {
        return portal && { url: portalUrl, accounts: portal.accounts };
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
