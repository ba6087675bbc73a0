import type { PortalContext } from './context.js';
import { PortalError } from './errors.js';
import type { Translate, CommonKey } from './i18n.js';

/** A posted form's fields as strings (files and repeated fields are not used by the portal's forms). */
export async function formFields(c: PortalContext): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) if (typeof value === 'string') fields[name] = value;
  return fields;
}

/** A JSON request body as an object, or 400 saying what was expected. */
export async function jsonBody(c: PortalContext, expected: string): Promise<Record<string, unknown>> {
  const body: unknown = await c.req.json().catch(() => undefined);
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new PortalError(400, 'error.invalid', { reason: expected }, `expected a JSON object: ${expected}`);
  }
  return body as Record<string, unknown>;
}

/**
 * Collects a form's problems per field while values are read, so one answer names every problem
 * (the JSON API gets them as `fields`, a page shows them at the top and beside each field).
 */
export class FormCheck {
  readonly errors: Record<string, string> = {};

  constructor(private readonly t: Translate<CommonKey>) {}

  /** A whole number in [min, max]; `''` or garbage is an error. */
  integer(name: string, value: unknown, min: number, max: number): number {
    const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
    if (!/^-?\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      this.errors[name] = this.t('error.integer', { min, max });
      return min;
    }
    return Number(text);
  }

  /** A trimmed text; required ones may not be empty. */
  text(name: string, value: unknown, required = false): string {
    const text = typeof value === 'string' ? value.trim() : '';
    if (required && !text) this.errors[name] = this.t('error.required');
    return text;
  }

  fail(name: string, message: string): void {
    this.errors[name] = message;
  }

  get ok(): boolean {
    return Object.keys(this.errors).length === 0;
  }

  /** For the JSON API: 422 with every field's problem. */
  toJson(c: PortalContext): Response {
    return c.json({ error: 'invalid input', fields: this.errors }, 422);
  }
}

/** The status line after post/redirect/get: `?gespeichert=1`. */
export const savedFlag = (c: PortalContext) => c.req.query('gespeichert') === '1';
