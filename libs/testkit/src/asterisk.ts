import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  faxSenderContext,
  faxSenderEndpoint,
  sendFax,
  type SendFaxOptions,
  type SendFaxResult,
} from './asterisk-fax-sender.js';
import { spawnServer } from './server-process.js';
import { REPO_ROOT, toolsBinDir } from './tools.js';

/**
 * Where a staff phone of the test listens. The device itself (endpoint, AOR, auth) is pushed by
 * the ari-adapter from the directory; the test stands in for the phone's registration by setting
 * the contact on the device's AOR, as a registered phone would have it.
 */
export interface AsteriskDevice {
  /** The endpoint name, e.g. `kropp-101` (dialled as `PJSIP/kropp-101`). */
  name: string;
  /** Where the phone listens, e.g. `sip:127.0.0.1:40123`; a device without one is unreachable. */
  contact?: string;
}

export interface StartAsteriskOptions {
  /** The staff phones' contacts, set on their AORs through ARI's dynamic configuration. */
  devices?: readonly AsteriskDevice[];
  /** Where calls to the carrier go (home-office forwarding, outbound calls), e.g. a sipp UAS. */
  trunkContact?: string;
  /** The ARI user the adapter logs in with; default a random password. */
  ariUsername?: string;
  ariPassword?: string;
  /** Until ARI answers its ping (default 60 s: the first start loads every module). */
  timeoutMs?: number;
}

export interface AsteriskServer {
  /** Asterisk's HTTP server, for the adapter's ARI_URL (no `/ari`). */
  readonly ariUrl: string;
  readonly ariUsername: string;
  readonly ariPassword: string;
  /** `127.0.0.1:<port>`: where the carrier (a sipp caller) sends INVITEs. */
  readonly sipAddress: string;
  readonly sipPort: number;
  /** Asterisk's private directories (logs under `log/`, received faxes under `spool/fax/`, recordings under `spool/recording/`). */
  readonly baseDir: string;
  /** Runs an Asterisk CLI command (`asterisk -rx`) and returns its output. */
  cli(command: string): Promise<string>;
  /** A POST/GET/PUT/DELETE on ARI (`/ari` + path), with the ARI user's credentials. */
  ari(method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Sends a fax from the carrier's side (SendFAX over SIP into this Asterisk) and reports how it went. */
  sendFax(options: SendFaxOptions): Promise<SendFaxResult>;
  stop(): Promise<void>;
}

const CONFIG_DIR = path.join(REPO_ROOT, 'docker', 'asterisk');
/** Debian's English core sounds (asterisk-core-sounds-en-gsm) and MOH files. */
const DEBIAN_SOUNDS = '/usr/share/asterisk/sounds/en_US_f_Allison';

/** Where `scripts/bootstrap` links the cached Asterisk build; `SWITCHBOARD_ASTERISK_PREFIX` overrides. */
export function asteriskPrefix(): string {
  return process.env['SWITCHBOARD_ASTERISK_PREFIX'] ?? path.join(toolsBinDir(), '..', 'asterisk');
}

/** Where `scripts/bootstrap` generates the prompts and music (`scripts/asterisk/sounds`). */
function generatedSoundsDir(): string {
  return process.env['SWITCHBOARD_ASTERISK_SOUNDS'] ?? path.join(toolsBinDir(), '..', 'asterisk-sounds');
}

/**
 * Runs the project's Asterisk build as a local process with the project's own `docker/asterisk`
 * configuration, rendered for the test: SIP, HTTP/ARI and an RTP range on free loopback ports, the
 * ARI user, the tenant's devices pointing at test phones, the trunk pointing at a test carrier,
 * and private etc/run/spool/log directories removed on `stop()`.
 */
export async function startAsterisk(options: StartAsteriskOptions = {}): Promise<AsteriskServer> {
  const prefix = asteriskPrefix();
  const binary = path.join(prefix, 'sbin', 'asterisk');
  await access(binary, constants.X_OK).catch(() => {
    throw new Error(
      `Asterisk is not built at ${prefix}. Run \`bash scripts/bootstrap\` at the repository root ` +
        '(it builds the pinned release from ../shared/vendor/asterisk into a cache and links it there).',
    );
  });
  const baseDir = await mkdtemp(path.join(tmpdir(), 'sb-asterisk-'));
  try {
    const [sipPort, httpPort, rtpStart] = [await freeUdpPort(), await freeTcpPort(), freeRtpRange()];
    const ariUsername = options.ariUsername ?? 'switchboard';
    const ariPassword = options.ariPassword ?? randomBytes(12).toString('hex');
    const dirs = await makeDirectories(baseDir, prefix);
    await renderConfig(dirs.etc, dirs, {
      sipPort,
      httpPort,
      rtpStart,
      ariUsername,
      ariPassword,
      trunkContact: options.trunkContact,
    });
    const configFile = path.join(dirs.etc, 'asterisk.conf');
    const server = await spawnServer({
      name: 'asterisk',
      command: binary,
      // -f: stay in the foreground; "Asterisk Ready." still reaches stdout. Not -c: its console
      // reads stdin, which here is at EOF, and spins on it (40 % of a core while idle).
      args: ['-C', configFile, '-f', '-n'],
      readyLine: /Asterisk Ready\./,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    const ariUrl = `http://127.0.0.1:${httpPort}`;
    const authorization = `Basic ${Buffer.from(`${ariUsername}:${ariPassword}`).toString('base64')}`;
    const ari: AsteriskServer['ari'] = async (method, pathAndQuery, body) => {
      const response = await fetch(`${ariUrl}/ari${pathAndQuery}`, {
        method,
        headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    };
    for (const device of options.devices ?? []) {
      if (!device.contact) continue;
      // Creates the AOR if the adapter has not pushed it yet; its push changes only the fields it
      // sends, never the contact, so the order does not matter.
      const set = await ari('PUT', `/asterisk/config/dynamic/res_pjsip/aor/${encodeURIComponent(device.name)}`, {
        fields: [{ attribute: 'contact', value: device.contact }],
      });
      if (set.status !== 200) {
        await server.stop();
        throw new Error(`setting ${device.name}'s contact failed (${set.status}): ${JSON.stringify(set.body)}`);
      }
    }
    const cli = async (command: string) =>
      (await promisify(execFile)(binary, ['-C', configFile, '-rx', command])).stdout;
    return {
      ariUrl,
      ariUsername,
      ariPassword,
      sipAddress: `127.0.0.1:${sipPort}`,
      sipPort,
      baseDir,
      cli,
      ari,
      sendFax: (fax) => sendFax(ari, path.join(dirs.log, 'full'), fax),
      stop: async () => {
        // An Asterisk that went away by itself fails the test that started it, with its last words.
        const gone = server.exitStatus();
        await server.stop();
        if (gone) {
          const log = await readFile(path.join(dirs.log, 'full'), 'utf8').catch(() => '');
          await rm(baseDir, { recursive: true, force: true });
          throw new Error(
            `Asterisk exited during the test (code ${gone.code}, signal ${gone.signal}):\n` +
              `${server.tail().join('\n')}\n--- log/full (end) ---\n${log.split('\n').slice(-60).join('\n')}`,
          );
        }
        await rm(baseDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(baseDir, { recursive: true, force: true });
    throw error;
  }
}

interface Directories {
  etc: string;
  modules: string;
  data: string;
  varlib: string;
  spool: string;
  run: string;
  log: string;
}

async function makeDirectories(baseDir: string, prefix: string): Promise<Directories> {
  const dirs: Directories = {
    etc: path.join(baseDir, 'etc'),
    modules: path.join(prefix, 'lib', 'asterisk', 'modules'),
    data: path.join(baseDir, 'data'),
    varlib: path.join(baseDir, 'lib'),
    spool: path.join(baseDir, 'spool'),
    run: path.join(baseDir, 'run'),
    log: path.join(baseDir, 'log'),
  };
  // spool/recording as `make install` creates it: ARI recordings fail with 500 when it is missing.
  const spoolDirs = ['fax', 'recording'].map((name) => path.join(dirs.spool, name));
  for (const dir of [dirs.etc, dirs.data, dirs.varlib, ...spoolDirs, dirs.run, dirs.log]) {
    await mkdir(dir, { recursive: true });
  }
  // The data directory holds what Asterisk reads at run time: ARI's API declarations from the
  // build, Debian's English core sounds, and the project's generated prompts and music.
  await symlink(path.join(prefix, 'var', 'lib', 'asterisk', 'rest-api'), path.join(dirs.data, 'rest-api'));
  await symlink(path.join(prefix, 'var', 'lib', 'asterisk', 'static-http'), path.join(dirs.data, 'static-http')).catch(
    () => undefined,
  );
  const generated = generatedSoundsDir();
  const sounds = path.join(dirs.data, 'sounds');
  const english = path.join(sounds, 'en');
  await mkdir(english, { recursive: true });
  for (const entry of await readdir(DEBIAN_SOUNDS).catch(() => [])) {
    await symlink(path.join(DEBIAN_SOUNDS, entry), path.join(english, entry));
  }
  for (const language of await readdir(generated).catch(() => [])) {
    if (language === 'moh') continue;
    const into = path.join(sounds, language);
    await mkdir(into, { recursive: true });
    await symlink(path.join(generated, language, 'switchboard'), path.join(into, 'switchboard')).catch(() => undefined);
  }
  await symlink(path.join(generated, 'moh'), path.join(dirs.data, 'moh')).catch(() => undefined);
  return dirs;
}

interface RenderValues {
  sipPort: number;
  httpPort: number;
  rtpStart: number;
  ariUsername: string;
  ariPassword: string;
  trunkContact: string | undefined;
}

/** Replaces one line of a config file; a config that no longer has it is an error, not a skip. */
function replaceLine(file: string, text: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(text)) throw new Error(`docker/asterisk/${file}: expected a line matching ${pattern}`);
  return text.replace(pattern, replacement);
}

async function renderConfig(etc: string, dirs: Directories, values: RenderValues): Promise<void> {
  for (const file of await readdir(CONFIG_DIR)) {
    if (!file.endsWith('.conf')) continue;
    let text = await readFile(path.join(CONFIG_DIR, file), 'utf8');
    if (file === 'http.conf') {
      text = replaceLine(file, text, /^bindaddr\s*=.*$/m, 'bindaddr = 127.0.0.1');
      text = replaceLine(file, text, /^bindport\s*=.*$/m, `bindport = ${values.httpPort}`);
    } else if (file === 'pjsip.conf') {
      text = replaceLine(file, text, /^bind\s*=.*$/m, `bind = 127.0.0.1:${values.sipPort}`);
      // The carrier is whoever sends from 127.0.0.1 (sipp callers); test phones call from
      // 127.0.0.2 and are identified by their user name.
      text = replaceLine(file, text, /^match\s*=.*$/m, 'match = 127.0.0.1/32');
      text = replaceLine(
        file,
        text,
        /^contact\s*=\s*sip:sip\.carrier\.example.*$/m,
        values.trunkContact ? `contact = ${values.trunkContact}` : ';contact: no carrier in this test',
      );
      text += faxSenderEndpoint(values.sipPort);
    } else if (file === 'extensions.conf') {
      text += faxSenderContext();
    } else if (file === 'rtp.conf') {
      text = replaceLine(file, text, /^rtpstart\s*=.*$/m, `rtpstart = ${values.rtpStart}`);
      text = replaceLine(file, text, /^rtpend\s*=.*$/m, `rtpend = ${values.rtpStart + RTP_PORTS - 1}`);
    }
    await writeFile(path.join(etc, file), text);
  }
  await writeFile(
    path.join(etc, 'ari_users.conf'),
    `[${values.ariUsername}]\ntype = user\nread_only = no\npassword = ${values.ariPassword}\n`,
  );
  await writeFile(
    path.join(etc, 'asterisk.conf'),
    [
      '[directories]',
      `astetcdir => ${dirs.etc}`,
      `astmoddir => ${dirs.modules}`,
      `astvarlibdir => ${dirs.varlib}`,
      `astdbdir => ${dirs.varlib}`,
      `astkeydir => ${dirs.varlib}`,
      `astdatadir => ${dirs.data}`,
      `astagidir => ${dirs.data}/agi-bin`,
      `astspooldir => ${dirs.spool}`,
      `astrundir => ${dirs.run}`,
      `astlogdir => ${dirs.log}`,
      '[options]',
      'documentation_language = en_US',
      '',
    ].join('\n'),
  );
  await writeFile(
    path.join(etc, 'logger.conf'),
    // The console (this process's stdout) gets only what is wrong; the details go to log/full.
    '[general]\n[logfiles]\nconsole => notice,warning,error\nfull => notice,warning,error,verbose(3),dtmf\n',
  );
}

/** Two legs a call, RTP and RTCP each: room for 500 calls at once. */
const RTP_PORTS = 2_000;

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/**
 * An even start of a range of RTP ports for this Asterisk, below the kernel's ephemeral range
 * (32768+) so other free-port picks do not land in it; Asterisk skips ports in use itself.
 */
let rangesTaken = 0;
function freeRtpRange(): number {
  const slots = Math.floor((30_000 - 20_000) / RTP_PORTS);
  return 20_000 + ((process.pid + rangesTaken++) % slots) * RTP_PORTS;
}
