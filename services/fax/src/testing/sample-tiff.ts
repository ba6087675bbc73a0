import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Sample faxes for tests and the demo: real TIFF Class F files as a fax machine sends them.
 * Pages are drawn here and written as an uncompressed bilevel TIFF, then libtiff's `tiffcp`
 * (Debian `libtiff-tools`, installed by scripts/bootstrap) compresses them with CCITT G3 1-D
 * (Modified Huffman), G3 2-D (Modified READ) or G4 (MMR), so the codecs are libtiff's own.
 */

const run = promisify(execFile);

export type FaxCompression = 'g3-1d' | 'g3-2d' | 'g4';
/** Fax pixels are not square: 204 dpi across, 98 (normal) or 196 (fine) lines per inch. */
export type FaxResolution = 'normal' | 'fine';

export interface SampleFaxOptions {
  pages: number;
  compression: FaxCompression;
  resolution: FaxResolution;
  /** Varies the drawn "text" so two samples differ; same seed, same file. */
  seed?: number;
}

/** A T.4 page is 1728 pixels across (215 mm at 204 dpi); length is A4's 297 mm. */
export const FAX_WIDTH_PX = 1728;
export const FAX_X_DPI = 204;
const Y_DPI: Record<FaxResolution, number> = { normal: 98, fine: 196 };
const A4_HEIGHT_INCH = 297 / 25.4;

export function faxYDpi(resolution: FaxResolution): number {
  return Y_DPI[resolution];
}

export function faxPageHeightPx(resolution: FaxResolution): number {
  return Math.round(A4_HEIGHT_INCH * Y_DPI[resolution]);
}

const TIFFCP_OPTION: Record<FaxCompression, string> = { 'g3-1d': 'g3:1d', 'g3-2d': 'g3:2d', g4: 'g4' };

/** mulberry32: small seeded generator, enough to vary the drawn lines. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One page, 1 bit per pixel, 1 = black (WhiteIsZero): "lines of words" and a page-number mark. */
function drawPage(pageIndex: number, heightPx: number, random: () => number): Buffer {
  const rowBytes = FAX_WIDTH_PX / 8;
  const page = Buffer.alloc(rowBytes * heightPx);
  const fill = (x0: number, y0: number, width: number, height: number) => {
    for (let y = y0; y < Math.min(y0 + height, heightPx); y++) {
      for (let x = x0; x < Math.min(x0 + width, FAX_WIDTH_PX); x++) {
        const at = y * rowBytes + (x >> 3);
        page[at] = (page[at] ?? 0) | (0x80 >> (x & 7));
      }
    }
  };
  const lineHeight = Math.max(Math.round(heightPx / 60), 6);
  const margin = 120;
  // Page number as that many bars at the top, so pages of one fax look different.
  for (let bar = 0; bar <= pageIndex; bar++) fill(margin + bar * 24, margin / 2, 12, lineHeight * 2);
  for (let y = margin + lineHeight * 3; y < heightPx - margin; y += lineHeight * 2) {
    let x = margin;
    while (x < FAX_WIDTH_PX - margin) {
      const word = 30 + Math.floor(random() * 120);
      fill(x, y, Math.min(word, FAX_WIDTH_PX - margin - x), lineHeight);
      x += word + 20 + Math.floor(random() * 20);
    }
  }
  return page;
}

interface Tag {
  id: number;
  type: 3 | 4 | 5;
  count: number;
  value: number;
}

/** Uncompressed multi-page bilevel TIFF (little-endian), one strip per page. */
function uncompressedTiff(pages: readonly Buffer[], heightPx: number, yDpi: number): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const append = (part: Buffer) => {
    const at = offset;
    parts.push(part);
    offset += part.length;
    return at;
  };
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  append(header);
  let nextPointerAt = 4;
  const pointers: Array<[number, number]> = [];
  pages.forEach((data, index) => {
    const dataAt = append(data);
    const resolution = Buffer.alloc(16);
    resolution.writeUInt32LE(FAX_X_DPI, 0);
    resolution.writeUInt32LE(1, 4);
    resolution.writeUInt32LE(yDpi, 8);
    resolution.writeUInt32LE(1, 12);
    const resolutionAt = append(resolution);
    // Tags in ascending order, as TIFF requires.
    const tags: Tag[] = [
      { id: 254, type: 4, count: 1, value: 2 }, // NewSubfileType: page of a multi-page document
      { id: 256, type: 3, count: 1, value: FAX_WIDTH_PX },
      { id: 257, type: 3, count: 1, value: heightPx },
      { id: 258, type: 3, count: 1, value: 1 }, // BitsPerSample
      { id: 259, type: 3, count: 1, value: 1 }, // Compression: none
      { id: 262, type: 3, count: 1, value: 0 }, // Photometric: WhiteIsZero
      { id: 273, type: 4, count: 1, value: dataAt },
      { id: 277, type: 3, count: 1, value: 1 },
      { id: 278, type: 3, count: 1, value: heightPx },
      { id: 279, type: 4, count: 1, value: data.length },
      { id: 282, type: 5, count: 1, value: resolutionAt },
      { id: 283, type: 5, count: 1, value: resolutionAt + 8 },
      { id: 296, type: 3, count: 1, value: 2 }, // ResolutionUnit: inch
      { id: 297, type: 3, count: 2, value: index | (pages.length << 16) }, // PageNumber
    ];
    const ifd = Buffer.alloc(2 + tags.length * 12 + 4);
    ifd.writeUInt16LE(tags.length, 0);
    tags.forEach((tag, i) => {
      const at = 2 + i * 12;
      ifd.writeUInt16LE(tag.id, at);
      ifd.writeUInt16LE(tag.type, at + 2);
      ifd.writeUInt32LE(tag.count, at + 4);
      if (tag.type === 3 && tag.count === 1) ifd.writeUInt16LE(tag.value, at + 8);
      else ifd.writeUInt32LE(tag.value, at + 8);
    });
    if (offset % 2 === 1) append(Buffer.alloc(1));
    const ifdAt = append(ifd);
    pointers.push([nextPointerAt, ifdAt]);
    nextPointerAt = ifdAt + 2 + tags.length * 12;
  });
  const file = Buffer.concat(parts);
  for (const [at, value] of pointers) file.writeUInt32LE(value, at);
  return file;
}

/** A multi-page CCITT-compressed fax TIFF. */
export async function sampleFaxTiff(options: SampleFaxOptions): Promise<Buffer> {
  if (!Number.isInteger(options.pages) || options.pages < 1) throw new Error('a sample fax needs at least one page');
  const random = seeded(options.seed ?? 1);
  const heightPx = faxPageHeightPx(options.resolution);
  const pages = Array.from({ length: options.pages }, (_, index) => drawPage(index, heightPx, random));
  const dir = await mkdtemp(path.join(tmpdir(), 'sb-sample-fax-'));
  try {
    const raw = path.join(dir, 'raw.tif');
    const compressed = path.join(dir, 'fax.tif');
    await writeFile(raw, uncompressedTiff(pages, heightPx, Y_DPI[options.resolution]));
    await run('tiffcp', ['-c', TIFFCP_OPTION[options.compression], raw, compressed]);
    return await readFile(compressed);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
