// Every prompt Switchboard plays exists as audio on a real Asterisk: the names are found in the
// code, the dialplan and the demo/bench tenants (not in a hand-kept list), each has a German and an
// English text in docker/asterisk/sounds/, and scripts/asterisk/sounds turns those into files that
// Asterisk's own lookup finds (format_wav's header rules, its language fallback). Also the music
// on hold class and rtp.conf. Needs Debian's espeak-ng and sox (scripts/bootstrap installs them).
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO } from './helm.js';

const run = promisify(execFile);
const SOUNDS_TEXTS = join(REPO, 'docker', 'asterisk', 'sounds');
const GENERATOR = join(REPO, 'scripts', 'asterisk', 'sounds');
const LANGUAGES = ['de', 'en'];
/** Asterisk's DEFAULT_LANGUAGE: the last place a sound is looked for (main/file.c). */
const ASTERISK_DEFAULT_LANGUAGE = 'en';

// --- where prompts are used -----------------------------------------------------------------------

/** What is searched: production code, configuration, the demo and bench tenants. */
const SCAN_ROOTS = ['services', 'libs', 'docker/asterisk'];
const SCAN_EXTENSIONS = /\.(ts|mts|yaml|yml|json|proto|conf)$/;
/** Unit-test code and fixtures run against the emulator, which plays anything. */
const SKIP_DIRS = new Set(['node_modules', 'dist', 'test', 'tests', '.git']);
const SKIP_FILES = /\.test\.ts$/;

/** `sound:switchboard/<name>`; `${…}`, `<…>` and `{…}` are numbers the code fills in. */
const MEDIA_URI = /sound:switchboard\/((?:[\w/-]|\$\{[^}]*\}|<[^>]*>|\{[^}]*\})+)/g;
/** Dialplan applications that play a file: `Playback(switchboard/name&…)`. */
const DIALPLAN_PLAY = /\b(?:Playback|Background|ControlPlayback|Read)\s*\(/i;
const DIALPLAN_FILE = /(?<![\w/.:-])switchboard\/([\w/-]+)/g;
/** A menu's language (`language: de-DE` in YAML, `language: 'de-DE'` in code). */
const MENU_LANGUAGE =
  /\blanguage:\s*(?:'([a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)'|"([a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)"|([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\s*$)/gm;

interface Usage {
  /** Prompt name → files that use it; numbered prompts as `name-{n}`. */
  prompts: Map<string, Set<string>>;
  /** Languages menus ask for (ARI play's `lang`). */
  languages: Set<string>;
}

/** A placeholder becomes `{n}`; a name that is nothing but a placeholder is a pattern, not a prompt. */
function normalise(raw: string): string | undefined {
  const name = raw.replace(/\$\{[^}]*\}|<[^>]*>|\{[^}]*\}/g, '{n}').replace(/[/-]+$/, '');
  if (name === '' || name === '{n}' || !/[A-Za-z0-9]/.test(name.replace(/\{n\}/g, ''))) return undefined;
  return name;
}

function scanText(text: string, file: string, usage: Usage): void {
  const add = (raw: string) => {
    const name = normalise(raw);
    if (!name) return;
    let files = usage.prompts.get(name);
    if (!files) usage.prompts.set(name, (files = new Set()));
    files.add(file);
  };
  for (const match of text.matchAll(MEDIA_URI)) add(match[1]!);
  if (file.endsWith('.conf')) {
    for (const line of text.split('\n')) {
      if (line.trimStart().startsWith(';') || !DIALPLAN_PLAY.test(line)) continue;
      for (const match of line.matchAll(DIALPLAN_FILE)) add(match[1]!);
    }
  }
  for (const match of text.matchAll(MENU_LANGUAGE)) {
    const language = match[1] ?? match[2] ?? match[3];
    if (language) usage.languages.add(language);
  }
}

async function scanRepository(): Promise<Usage> {
  const usage: Usage = { prompts: new Map(), languages: new Set() };
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        // The texts are not a use (their comments mention `sound:switchboard/<name>`).
        if (!SKIP_DIRS.has(entry.name) && path !== SOUNDS_TEXTS) await walk(path);
      } else if (entry.isFile() && SCAN_EXTENSIONS.test(entry.name) && !SKIP_FILES.test(entry.name)) {
        scanText(await readFile(path, 'utf8'), relative(REPO, path), usage);
      }
    }
  };
  for (const root of SCAN_ROOTS) await walk(join(REPO, root));
  return usage;
}

// --- the texts -----------------------------------------------------------------------------------

type Texts = Record<string, string>;
type Numbered = Record<string, [number, number]>;

async function readYaml<T>(file: string): Promise<T> {
  return parse(await readFile(join(SOUNDS_TEXTS, file), 'utf8')) as T;
}

/** Every concrete prompt name a language's texts produce (numbered ones over their range). */
function expand(texts: Texts, numbered: Numbered): Set<string> {
  const names = new Set<string>();
  for (const name of Object.keys(texts)) {
    if (!name.includes('{n}')) {
      names.add(name);
      continue;
    }
    const [first, last] = numbered[name] ?? [1, 0];
    for (let n = first; n <= last; n++) names.add(name.replaceAll('{n}', String(n)));
  }
  return names;
}

/** What a used prompt lacks in one language's texts; empty when it can be generated. */
function missingTexts(used: Iterable<string>, texts: Texts, numbered: Numbered): string[] {
  const have = expand(texts, numbered);
  const missing: string[] = [];
  for (const name of used) {
    if (!name.includes('{n}')) {
      if (!have.has(name)) missing.push(name);
      continue;
    }
    const range = numbered[name];
    if (!range) missing.push(`${name} (no range in numbered.yaml)`);
    else if (texts[name] === undefined) missing.push(`${name} (no {n} text)`);
  }
  return missing;
}

// --- Asterisk's view of the generated files --------------------------------------------------------

interface Wav {
  format: number;
  channels: number;
  rate: number;
  bits: number;
  blockAlign: number;
  dataBytes: number;
}

/** The RIFF header as format_wav's check_header reads it (fmt chunk, then the data chunk). */
async function readWav(file: string): Promise<Wav> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const buffer = head.subarray(0, bytesRead);
    if (buffer.toString('latin1', 0, 4) !== 'RIFF' || buffer.toString('latin1', 8, 12) !== 'WAVE') {
      throw new Error(`${file}: not a RIFF/WAVE file`);
    }
    let offset = 12;
    let fmt: Omit<Wav, 'dataBytes'> | undefined;
    while (offset + 8 <= buffer.length) {
      const id = buffer.toString('latin1', offset, offset + 4);
      const size = buffer.readUInt32LE(offset + 4);
      if (id === 'fmt ') {
        fmt = {
          format: buffer.readUInt16LE(offset + 8),
          channels: buffer.readUInt16LE(offset + 10),
          rate: buffer.readUInt32LE(offset + 12),
          blockAlign: buffer.readUInt16LE(offset + 20),
          bits: buffer.readUInt16LE(offset + 22),
        };
      } else if (id === 'data') {
        if (!fmt) throw new Error(`${file}: data before fmt`);
        return { ...fmt, dataBytes: size };
      }
      offset += 8 + size + (size % 2);
    }
    throw new Error(`${file}: no data chunk`);
  } finally {
    await handle.close();
  }
}

/** format_wav: PCM (1), mono, 16-bit, 8000 Hz for `.wav` and 16000 Hz for `.wav16`. */
async function expectAsteriskWav(file: string, rate: 8000 | 16000, minSeconds: number): Promise<void> {
  const wav = await readWav(file);
  expect({
    file,
    format: wav.format,
    channels: wav.channels,
    rate: wav.rate,
    bits: wav.bits,
    align: wav.blockAlign,
  }).toEqual({ file, format: 1, channels: 1, rate, bits: 16, align: 2 });
  expect(wav.dataBytes / (rate * 2), file).toBeGreaterThanOrEqual(minSeconds);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Where Asterisk finds `sound:switchboard/<name>` played in `language` (main/file.c,
 * fileexists_core): the language, then with each `_suffix` stripped, then no language, then `en`.
 * Returns the directory it was found in (relative to the sounds dir), or undefined.
 */
async function resolveSound(soundsDir: string, name: string, language: string): Promise<string | undefined> {
  const candidates: string[] = [];
  let lang = language;
  while (lang) {
    candidates.push(lang);
    const cut = lang.lastIndexOf('_');
    if (cut < 0) break;
    lang = lang.slice(0, cut);
  }
  candidates.push('');
  if (language !== ASTERISK_DEFAULT_LANGUAGE && lang !== ASTERISK_DEFAULT_LANGUAGE)
    candidates.push(ASTERISK_DEFAULT_LANGUAGE);
  for (const candidate of candidates) {
    for (const extension of ['wav', 'wav16']) {
      if (await exists(join(soundsDir, candidate, 'switchboard', `${name}.${extension}`))) return candidate;
    }
  }
  return undefined;
}

/** The directory a language's own files live in (`de-DE` → `de`). */
const baseLanguage = (language: string) => language.split(/[-_]/)[0]!.toLowerCase();

// --- the tests ----------------------------------------------------------------------------------------

let usage: Usage;
let numbered: Numbered;
const texts: Record<string, Texts> = {};
let scratch: string;
let out: string;
let generatorOutput = '';

beforeAll(async () => {
  usage = await scanRepository();
  numbered = await readYaml<Numbered>('numbered.yaml');
  for (const language of LANGUAGES) texts[language] = await readYaml<Texts>(`prompts.${language}.yaml`);
  scratch = await mkdtemp(join(tmpdir(), 'sb-sounds-'));
  out = join(scratch, 'out');
  const { stdout } = await run('bash', [GENERATOR, out], { maxBuffer: 16 * 1024 * 1024 });
  generatorOutput = stdout;
}, 180_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Every concrete prompt that must exist: the used ones, numbered ones over their whole range. */
function usedConcrete(): string[] {
  const names: string[] = [];
  for (const name of usage.prompts.keys()) {
    if (!name.includes('{n}')) names.push(name);
    else {
      const [first, last] = numbered[name] ?? [1, 0];
      for (let n = first; n <= last; n++) names.push(name.replaceAll('{n}', String(n)));
    }
  }
  return names.sort();
}

describe('prompts used anywhere', () => {
  it('are found in routing, the demo menus, the bench tenant and the dialplan', () => {
    const names = [...usage.prompts.keys()];
    // The scan itself works: names from each kind of source are there.
    expect(names).toEqual(
      expect.arrayContaining([
        'queue-position-{n}',
        'service-unavailable',
        'party-unavailable',
        'callback-registered',
        'kropp/welcome',
        'kropp/main-menu',
        'kropp/standesamt-menu',
        'bench',
      ]),
    );
    expect([...usage.prompts.get('kropp/welcome')!]).toContain('services/ivr/demo/amt-kropp-menus.yaml');
    expect([...usage.languages]).toContain('de-DE');
  });

  it('cover every queue position routing announces', async () => {
    const routing = await readFile(join(REPO, 'services/routing/src/prompts.ts'), 'utf8');
    const last = Number(/LAST_ANNOUNCED_POSITION = (\d+)/.exec(routing)?.[1]);
    expect(last).toBeGreaterThan(0);
    expect(numbered['queue-position-{n}']).toEqual([1, last]);
  });

  it.each(LANGUAGES)('each have a %s text (numbered ones a range and a {n} text)', (language) => {
    const missing = missingTexts(usage.prompts.keys(), texts[language]!, numbered);
    const where = missing.map((name) => `${name} ← ${[...(usage.prompts.get(name.split(' ')[0]!) ?? [])].join(', ')}`);
    expect(where, `add them to docker/asterisk/sounds/prompts.${language}.yaml`).toEqual([]);
  });

  it('has the same names in every language, each a non-empty text', () => {
    const [first, ...others] = LANGUAGES.map((language) => Object.keys(texts[language]!).sort());
    for (const keys of others) expect(keys).toEqual(first);
    for (const language of LANGUAGES) {
      for (const [name, text] of Object.entries(texts[language]!)) {
        expect(typeof text === 'string' && text.trim().length > 0, `${language} ${name}`).toBe(true);
        if (name.includes('{n}')) expect(text, `${language} ${name}`).toContain('{n}');
      }
    }
    for (const [name, range] of Object.entries(numbered)) {
      expect(name).toContain('{n}');
      expect(range[0]).toBeGreaterThanOrEqual(1);
      expect(range[1]).toBeGreaterThanOrEqual(range[0]);
    }
  });

  it('would fail for a prompt added in code or a menu without a text', () => {
    const extra: Usage = { prompts: new Map(), languages: new Set() };
    scanText(
      "play({ media: ['sound:switchboard/brand-new'] }); x(`sound:switchboard/expected-wait-${minutes}`);\n" +
        'exten => s,n,Playback(switchboard/sorry&switchboard/kropp/welcome)\n' +
        'prompts: [sound:switchboard/kropp/holiday-menu]\nlanguage: de-AT\n',
      'extensions.conf',
      extra,
    );
    expect([...extra.prompts.keys()].sort()).toEqual(
      ['brand-new', 'expected-wait-{n}', 'kropp/holiday-menu', 'kropp/welcome', 'sorry'].sort(),
    );
    expect([...extra.languages]).toEqual(['de-AT']);
    expect(missingTexts(extra.prompts.keys(), texts['de']!, numbered).sort()).toEqual([
      'brand-new',
      'expected-wait-{n} (no range in numbered.yaml)',
      'kropp/holiday-menu',
      'sorry',
    ]);
  });
});

describe('scripts/asterisk/sounds', () => {
  it('generates every prompt of every language as 8 kHz .wav and 16 kHz .wav16', async () => {
    expect(generatorOutput).toMatch(/done/);
    for (const language of LANGUAGES) {
      for (const name of expand(texts[language]!, numbered)) {
        const base = join(out, language, 'switchboard', name);
        await expectAsteriskWav(`${base}.wav`, 8000, 0.5);
        await expectAsteriskWav(`${base}.wav16`, 16000, 0.5);
      }
    }
  });

  it('lets Asterisk find every used prompt in the language it is played in', async () => {
    // Menus pass their BCP 47 language (de-DE); routing's own prompts play in the channel's language.
    const languages = new Set([...LANGUAGES, ...usage.languages]);
    const problems: string[] = [];
    for (const name of usedConcrete()) {
      for (const language of languages) {
        const found = await resolveSound(out, name, language);
        const want = LANGUAGES.includes(baseLanguage(language)) ? baseLanguage(language) : ASTERISK_DEFAULT_LANGUAGE;
        if (found === undefined) problems.push(`${name} (${language}): not found`);
        else if (baseLanguage(found || '-') !== want)
          problems.push(`${name} (${language}): found in "${found}", not ${want}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('aliases BCP 47 tags to their language, as links', async () => {
    for (const tag of ['de-DE', 'en-GB']) {
      expect((await lstat(join(out, tag))).isSymbolicLink(), tag).toBe(true);
    }
  });

  it('gives the same bytes on a second run', async () => {
    const again = join(scratch, 'again');
    await run('bash', [GENERATOR, again, '--only', '^(kropp/welcome|queue-position-7)$']);
    for (const file of ['de/switchboard/kropp/welcome.wav', 'en/switchboard/queue-position-7.wav16']) {
      expect((await readFile(join(again, file))).equals(await readFile(join(out, file))), file).toBe(true);
    }
  });

  it('refuses to replace a directory it did not write', async () => {
    const other = join(scratch, 'other');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'keep me');
    await expect(run('bash', [GENERATOR, other, '--only', 'x^'])).rejects.toThrow(/did not write/);
    expect(await readFile(join(other, 'notes.txt'), 'utf8')).toBe('keep me');
  });
});

/** `[section]` → `name = value` lines of an Asterisk config file. */
function parseAsteriskConf(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    if (!line) continue;
    const section = /^\[([^\]]+)\]/.exec(line);
    if (section) sections.set(section[1]!, (current = new Map()));
    else if (current) {
      const [name, ...value] = line.split(/=>?/);
      current.set(name!.trim(), value.join('=').trim());
    }
  }
  return sections;
}

describe('docker/asterisk music on hold and RTP', () => {
  it('musiconhold.conf has a `default` class playing the generated files', async () => {
    const conf = parseAsteriskConf(await readFile(join(REPO, 'docker', 'asterisk', 'musiconhold.conf'), 'utf8'));
    const moh = conf.get('default');
    expect(moh?.get('mode')).toBe('files');
    const directory = moh!.get('directory')!;
    // Relative to astdatadir, where the generator's moh/ goes.
    expect(directory.startsWith('/')).toBe(false);
    const files = (await readdir(join(out, directory))).filter((file) => file.endsWith('.wav'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) await expectAsteriskWav(join(out, directory, file), 8000, 20);
  });

  it('rtp.conf sets the documented range 10000-20000', async () => {
    const conf = parseAsteriskConf(await readFile(join(REPO, 'docker', 'asterisk', 'rtp.conf'), 'utf8'));
    expect(conf.get('general')?.get('rtpstart')).toBe('10000');
    expect(conf.get('general')?.get('rtpend')).toBe('20000');
  });
});
