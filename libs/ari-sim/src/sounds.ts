import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORE_SOUNDS } from './core-sounds.js';

/** The repository's prompt texts, from which `scripts/asterisk/sounds` generates the audio. */
const PROMPT_TEXTS_DIR = fileURLToPath(new URL('../../../docker/asterisk/sounds/', import.meta.url));

/** Where the generated prompts go under Asterisk's sounds directory (`sound:switchboard/<name>`). */
const PROMPT_FOLDER = 'switchboard';
/** `name: …` of the flat YAML the generator reads (its header describes the format). */
const ENTRY = /^([A-Za-z0-9_./{}-]+):\s/;
const RANGE = /^([A-Za-z0-9_./{}-]+):\s+\[\s*(\d+)\s*,\s*(\d+)\s*\]\s*$/;

function entries(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => ENTRY.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/**
 * The `sound:` names the generator makes from the texts (`prompts.<lang>.yaml`, with
 * `{n}` names expanded over their range in `numbered.yaml`), as `switchboard/<name>`. A name
 * exists in every language once one language has it: Asterisk falls back to `en` and the prompts
 * test holds every language to the same names.
 */
function promptSounds(): string[] {
  const dir = PROMPT_TEXTS_DIR;
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => /^prompts\.[\w-]+\.yaml$/.test(file));
  } catch (error) {
    throw new Error(
      `ari-sim: cannot read the prompt texts in ${dir} (${(error as Error).message}); pass the sounds that exist as \`sounds\``,
    );
  }
  const ranges = new Map<string, [number, number]>();
  for (const line of readFileSync(join(dir, 'numbered.yaml'), 'utf8').split('\n')) {
    const range = RANGE.exec(line);
    if (range) ranges.set(range[1]!, [Number(range[2]), Number(range[3])]);
  }
  const names = new Set<string>();
  for (const name of files.flatMap((file) => entries(join(dir, file)))) {
    if (!name.includes('{n}')) {
      names.add(name);
      continue;
    }
    const [first, last] = ranges.get(name) ?? [1, 0];
    for (let n = first; n <= last; n++) names.add(name.replaceAll('{n}', String(n)));
  }
  return [...names].map((name) => `${PROMPT_FOLDER}/${name}`);
}

/** What a real Asterisk of this project can play: the core sounds and the generated prompts. */
export function defaultSounds(): string[] {
  return [...CORE_SOUNDS, ...promptSounds()];
}
