/**
 * TIFF → PDF conversion cost per fax: `pnpm bench:fax [--rounds N] [--json file]`.
 * Sample faxes of each compression and resolution, converted `rounds` times each, one at a time.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { convertTiffToPdf } from '../src/convert.js';
import { sampleFaxTiff, type FaxCompression, type FaxResolution } from '../src/testing/sample-tiff.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, json: { type: 'string' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive whole number');
const PAGES = 3;
const kinds: Array<[FaxCompression, FaxResolution]> = [
  ['g3-1d', 'normal'],
  ['g3-2d', 'fine'],
  ['g4', 'normal'],
  ['g4', 'fine'],
];

const results = [];
for (const [compression, resolution] of kinds) {
  const tiff = await sampleFaxTiff({ pages: PAGES, compression, resolution, seed: 42 });
  const timings: number[] = [];
  let pdfBytes = 0;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    const converted = await convertTiffToPdf(tiff);
    timings.push(performance.now() - started);
    pdfBytes = converted.pdf.length;
  }
  timings.sort((a, b) => a - b);
  const median = timings[Math.floor(timings.length / 2)] ?? 0;
  const result = {
    compression,
    resolution,
    pages: PAGES,
    tiffBytes: tiff.length,
    pdfBytes,
    medianMs: Number(median.toFixed(1)),
    maxMs: Number((timings.at(-1) ?? 0).toFixed(1)),
    msPerPage: Number((median / PAGES).toFixed(1)),
  };
  results.push(result);
  process.stdout.write(
    `${compression.padEnd(6)} ${resolution.padEnd(6)} ${PAGES} pages  tiff ${String(tiff.length).padStart(7)} B  pdf ${String(pdfBytes).padStart(7)} B  median ${result.medianMs} ms  max ${result.maxMs} ms  (${result.msPerPage} ms/page)\n`,
  );
}
if (values.json) await writeFile(values.json, `${JSON.stringify({ rounds, results }, null, 2)}\n`);
