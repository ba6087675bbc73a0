import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PROTO_ROOT } from '@switchboard/proto';

let sources: ReadonlyArray<{ file: string; text: string }> | undefined;

/** The .proto file (relative to proto/) whose text holds `fragment`, e.g. `service RatingService {`. */
export function protoFileDeclaring(fragment: string): string {
  sources ??= readdirSync(PROTO_ROOT, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.proto'))
    .map((file) => ({ file, text: readFileSync(path.join(PROTO_ROOT, file), 'utf8') }));
  const found = sources.find((source) => source.text.includes(fragment));
  if (!found) throw new Error(`no .proto declares ${fragment}`);
  return found.file;
}
