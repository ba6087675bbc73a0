import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';

/**
 * TIFF → PDF with libtiff's own tools (Debian `libtiff-tools`): `tiffinfo -D` reads and decodes
 * every page first, so a truncated or corrupt file is refused instead of turned into a PDF that
 * silently lacks pages; `tiff2pdf` then writes one PDF page per TIFF page, keeping the CCITT data
 * as it is and sizing each page from the TIFF's x and y resolution (fax pixels are not square).
 */

/** The document cannot be converted; the reason says why, for the inbox and the operator. */
export class ConversionError extends Error {
  override readonly name = 'ConversionError';
}

export interface ConvertedFax {
  pdf: Buffer;
  pages: number;
  /** Page sizes in PDF points (1/72 inch). */
  pageSizes: Array<{ width: number; height: number }>;
  /** Line errors libtiff decoded around (normal on noisy lines); the pages are still complete. */
  decodeWarnings: number;
}

const TOOL_TIMEOUT_MS = 60_000;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runTool(command: string, args: readonly string[]): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: TOOL_TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        // Not an exit status: the tool is missing or was killed. That is the machine's fault, not
        // the document's, so it is thrown as is and the message retried.
        reject(new Error(`${command} could not run: ${error.message}`));
        return;
      }
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

function firstError(stderr: string): string {
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  return (lines.find((line) => !/warning/i.test(line)) ?? lines[0] ?? 'no detail').trim().slice(0, 300);
}

export async function convertTiffToPdf(tiff: Uint8Array): Promise<ConvertedFax> {
  if (tiff.length === 0) throw new ConversionError('the document is empty');
  const dir = await mkdtemp(path.join(tmpdir(), 'sb-fax-convert-'));
  try {
    const input = path.join(dir, 'fax.tif');
    const output = path.join(dir, 'fax.pdf');
    await writeFile(input, tiff);

    const check = await runTool('tiffinfo', ['-D', input]);
    if (check.code !== 0) throw new ConversionError(`corrupt or truncated TIFF: ${firstError(check.stderr)}`);
    const tiffPages = (check.stdout.match(/^TIFF Directory at offset/gm) ?? []).length;
    if (tiffPages === 0) throw new ConversionError('the TIFF has no pages');
    const decodeWarnings = (check.stderr.match(/warning/gi) ?? []).length;

    const conversion = await runTool('tiff2pdf', ['-o', output, input]);
    if (conversion.code !== 0) throw new ConversionError(`tiff2pdf failed: ${firstError(conversion.stderr)}`);
    const pdf = await readFile(output);

    const document = await PDFDocument.load(pdf);
    const pageSizes = document.getPages().map((page) => page.getSize());
    if (pageSizes.length !== tiffPages) {
      throw new ConversionError(`the PDF has ${pageSizes.length} pages but the TIFF has ${tiffPages}`);
    }
    return { pdf, pages: pageSizes.length, pageSizes, decodeWarnings };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
