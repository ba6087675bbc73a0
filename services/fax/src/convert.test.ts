import { describe, expect, it } from 'vitest';
import { ConversionError, convertTiffToPdf } from './convert.js';
import {
  FAX_WIDTH_PX,
  FAX_X_DPI,
  faxPageHeightPx,
  faxYDpi,
  sampleFaxTiff,
  type FaxCompression,
  type FaxResolution,
} from './testing/sample-tiff.js';

const POINTS_PER_INCH = 72;
const cases: Array<[FaxCompression, FaxResolution, number]> = [
  ['g3-1d', 'normal', 2],
  ['g3-2d', 'fine', 3],
  ['g4', 'normal', 1],
  ['g4', 'fine', 4],
];

describe('TIFF → PDF', () => {
  it.each(cases)('converts a %s %s fax of %i pages at its physical size', async (compression, resolution, pages) => {
    const tiff = await sampleFaxTiff({ pages, compression, resolution, seed: pages });
    expect(tiff.subarray(0, 4)).toEqual(Buffer.from('II*\0', 'latin1'));
    const converted = await convertTiffToPdf(tiff);
    expect(converted.pages).toBe(pages);
    expect(converted.pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const width = (FAX_WIDTH_PX / FAX_X_DPI) * POINTS_PER_INCH;
    const height = (faxPageHeightPx(resolution) / faxYDpi(resolution)) * POINTS_PER_INCH;
    for (const size of converted.pageSizes) {
      expect(size.width).toBeCloseTo(width, 0);
      expect(size.height).toBeCloseTo(height, 0);
    }
    // A4 is 595 x 842 pt; a fax page is 215 mm wide.
    expect(height).toBeCloseTo(842, -1);
    expect(converted.decodeWarnings).toBe(0);
  });

  it('refuses a truncated TIFF rather than dropping its missing pages', async () => {
    const tiff = await sampleFaxTiff({ pages: 3, compression: 'g4', resolution: 'fine' });
    const truncated = tiff.subarray(0, Math.floor(tiff.length / 2));
    await expect(convertTiffToPdf(truncated)).rejects.toThrow(ConversionError);
    await expect(convertTiffToPdf(truncated)).rejects.toThrow(/corrupt or truncated TIFF/);
  });

  it('refuses bytes that are not a TIFF, and an empty document', async () => {
    await expect(convertTiffToPdf(Buffer.from('%PDF-1.4 not a fax at all'))).rejects.toThrow(ConversionError);
    await expect(convertTiffToPdf(new Uint8Array())).rejects.toThrow('the document is empty');
  });
});
