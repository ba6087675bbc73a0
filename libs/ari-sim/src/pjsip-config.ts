import { AriError, badRequest, notFound } from './errors.js';
import { PJSIP_DEFAULTS } from './pjsip-defaults.js';

// res_pjsip's endpoint, aor and auth objects as docker/asterisk/sorcery.conf maps them: the
// config wizard first (pjsip.conf: read only), then the memory wizard, which ARI's dynamic
// configuration (`/asterisk/config/dynamic/res_pjsip/<type>/<id>`) creates, updates and deletes.
// Behaviour as observed on Asterisk 22.10.1 (see the conformance tests).

export type PjsipObjectType = keyof typeof PJSIP_DEFAULTS;
export interface ConfigTuple {
  attribute: string;
  value: string;
}

const CONFIG_CLASS = 'res_pjsip';
/** What chan_pjsip can use with the project's codec modules; anything else fails validation. */
const CODECS = new Set(['alaw', 'ulaw', 'g722', 'gsm', 'slin', 'slin16', 'all']);
const DIGEST_LENGTHS: Record<string, number> = { MD5: 32, 'SHA-256': 64, 'SHA-512-256': 64 };
/** Accepted but not listed back (write-only on Asterisk). */
const WRITE_ONLY = new Set(['disallow', 'type']);

type Stored = Map<string, string>;

function isType(type: string): type is PjsipObjectType {
  return Object.hasOwn(PJSIP_DEFAULTS, type);
}

function defaults(type: PjsipObjectType): Stored {
  return new Map(PJSIP_DEFAULTS[type].map(([attribute, value]) => [attribute, value]));
}

const invalid = (created: boolean, id: string) =>
  badRequest(`${created ? 'Creation' : 'Update'} of object '${id}' failed field value validation`);

export class PjsipConfig {
  private readonly pushed: Record<PjsipObjectType, Map<string, Stored>> = {
    endpoint: new Map(),
    aor: new Map(),
    auth: new Map(),
  };

  /** `staticEndpoints`: endpoints (each with an AOR of its name) from pjsip.conf, e.g. the trunk. */
  constructor(private readonly staticEndpoints: () => ReadonlySet<string>) {}

  get(configClass: string, type: string, id: string): ConfigTuple[] {
    const objectType = this.objectType(configClass, type);
    const stored = this.lookup(objectType, id);
    if (!stored) throw notFound(`Object with id '${id}' not found`);
    return tuples(stored);
  }

  /** Creates, or updates the attributes given (the others keep their values), as Asterisk does. */
  put(configClass: string, type: string, id: string, body: Record<string, unknown> | undefined): ConfigTuple[] {
    const objectType = this.objectType(configClass, type);
    const existing = this.lookup(objectType, id);
    const created = existing === undefined;
    const fields = body?.['fields'];
    if (!created && fields === undefined) throw badRequest(`Fields must be provided to update object '${id}'`);
    if (this.isStatic(objectType, id))
      throw new AriError(403, { message: `Cannot update sorcery objects of type '${type}'` });
    const next = new Map(existing ?? defaults(objectType));
    if (fields !== undefined) {
      if (!Array.isArray(fields)) throw invalid(created, id);
      for (const field of fields as unknown[]) {
        const { attribute, value } = (field ?? {}) as Record<string, unknown>;
        if (typeof attribute !== 'string' || typeof value !== 'string') throw invalid(created, id);
        if (!apply(next, attribute, value)) throw invalid(created, id);
      }
    }
    if (objectType === 'auth' && !authComplete(next)) throw invalid(created, id);
    this.pushed[objectType].set(id, next);
    return tuples(next);
  }

  delete(configClass: string, type: string, id: string): void {
    const objectType = this.objectType(configClass, type);
    if (!this.lookup(objectType, id)) throw notFound(`Object with id '${id}' not found`);
    if (this.isStatic(objectType, id)) throw new AriError(403, { message: `Could not delete object with id '${id}'` });
    this.pushed[objectType].delete(id);
  }

  /** Asterisk restarted: the memory wizard forgot every pushed object. */
  clear(): void {
    for (const objects of Object.values(this.pushed)) objects.clear();
  }

  pushedEndpoints(): string[] {
    return [...this.pushed.endpoint.keys()];
  }

  /** The AORs a pushed endpoint names that exist, i.e. where its phones' contacts would be. */
  existingAorsOf(endpoint: string): string[] {
    const aors = this.pushed.endpoint.get(endpoint)?.get('aors') ?? '';
    return aors
      .split(',')
      .map((aor) => aor.trim())
      .filter((aor) => aor && this.lookup('aor', aor));
  }

  private objectType(configClass: string, type: string): PjsipObjectType {
    if (configClass !== CONFIG_CLASS) throw notFound(`configClass '${configClass}' not found`);
    // Asterisk has more res_pjsip types (contact, transport, ...); the emulator keeps these three.
    if (!isType(type)) throw notFound(`objectType '${type}' not found`);
    return type;
  }

  private isStatic(type: PjsipObjectType, id: string): boolean {
    return type !== 'auth' && this.staticEndpoints().has(id);
  }

  private lookup(type: PjsipObjectType, id: string): Stored | undefined {
    // The config wizard is asked first: a name in pjsip.conf wins over a pushed one.
    if (this.isStatic(type, id)) {
      const stored = defaults(type);
      if (type === 'endpoint') stored.set('aors', id);
      return stored;
    }
    return this.pushed[type].get(id);
  }
}

function tuples(stored: Stored): ConfigTuple[] {
  return [...stored].map(([attribute, value]) => ({ attribute, value }));
}

/** Applies one field as res_pjsip's handler would; false when Asterisk fails its validation. */
function apply(stored: Stored, attribute: string, value: string): boolean {
  if (WRITE_ONLY.has(attribute)) {
    if (attribute !== 'disallow') return true;
    const codecs = codecList(value);
    if (!codecs) return false;
    const left = codecs.includes('all') ? [] : allowed(stored).filter((codec) => !codecs.includes(codec));
    stored.set('allow', formatCodecs(left));
    return true;
  }
  const current = stored.get(attribute);
  if (current === undefined) return false;
  switch (attribute) {
    case 'allow': {
      const codecs = codecList(value);
      if (!codecs) return false;
      stored.set('allow', formatCodecs([...new Set([...allowed(stored), ...codecs.filter((c) => c !== 'all')])]));
      return true;
    }
    case 'auth_type':
      // google_oauth needs a pjproject built with OAuth, which the project's is not.
      if (!['userpass', 'md5', 'digest'].includes(value.toLowerCase())) return false;
      stored.set(attribute, value.toLowerCase());
      return true;
    case 'md5_cred':
      return setDigest(stored, `MD5:${value}`);
    case 'password_digest':
      return setDigest(stored, value);
  }
  if (current === 'true' || current === 'false') {
    // ast_true: anything it does not know is false (Asterisk accepts `maybe` as false too).
    stored.set(attribute, /^(yes|true|y|t|1|on)$/i.test(value) ? 'true' : 'false');
    return true;
  }
  if (/^\d+$/.test(current) && !/^\d+$/.test(value)) return false;
  stored.set(attribute, value);
  return true;
}

function setDigest(stored: Stored, spec: string): boolean {
  const match = /^([A-Za-z0-9-]+):([0-9a-fA-F]+)$/.exec(spec);
  const algorithm = match?.[1]?.toUpperCase();
  if (!match || !algorithm || DIGEST_LENGTHS[algorithm] !== match[2]!.length) return false;
  stored.set('password_digest', `${algorithm}:${match[2]}`);
  if (algorithm === 'MD5') stored.set('md5_cred', match[2]!);
  return true;
}

/** auth_apply: a username, and for digest a password or an MD5 digest (the default algorithm). */
function authComplete(stored: Stored): boolean {
  if (!stored.get('username')) return false;
  return Boolean(stored.get('password') || stored.get('md5_cred'));
}

function codecList(value: string): string[] | undefined {
  const codecs = value.split(',').map((codec) => codec.trim().toLowerCase());
  return codecs.every((codec) => CODECS.has(codec)) ? codecs : undefined;
}

function allowed(stored: Stored): string[] {
  const text = stored.get('allow') ?? '(nothing)';
  return text === '(nothing)' ? [] : text.slice(1, -1).split('|');
}

function formatCodecs(codecs: string[]): string {
  return codecs.length ? `(${codecs.join('|')})` : '(nothing)';
}
