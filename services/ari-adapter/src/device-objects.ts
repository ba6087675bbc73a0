import type { directoryServiceV1 } from '@switchboard/proto';

// The res_pjsip objects of one staff device, as the adapter pushes them through ARI's dynamic
// configuration. Pushed objects cannot use pjsip.conf's templates, so every field is explicit;
// this is the one place a device's SIP settings are defined.

export type DeviceCredential = directoryServiceV1.DeviceCredential;
export type PjsipObjectType = 'auth' | 'aor' | 'endpoint';
export type ConfigFields = ReadonlyArray<readonly [attribute: string, value: string]>;

export interface DeviceObjects {
  deviceId: string;
  /** In push order: the endpoint last, so it is never dialable before its AOR and auth exist. */
  objects: ReadonlyArray<{ type: PjsipObjectType; fields: ConfigFields }>;
}

/** Delete order: the endpoint first, so no call is placed to a device being taken apart. */
export const DELETE_ORDER: readonly PjsipObjectType[] = ['endpoint', 'aor', 'auth'];

/** Safe as a sorcery id and in a URL path segment; no `;` (contact ids use it) or `/`. */
const OBJECT_ID = /^[A-Za-z0-9._-]{1,64}$/;
const MD5_HEX = /^[0-9a-f]{32}$/;

/**
 * What is wrong with a credential the directory listed for `tenantId`, or undefined when it can
 * be pushed; `owner` is the tenant whose staff has the device in the number plan.
 */
export function credentialProblem(
  credential: DeviceCredential,
  tenantId: string,
  owner: string | undefined,
): string | undefined {
  const { deviceId, username, realm, md5Cred } = credential;
  if (!OBJECT_ID.test(deviceId)) return 'device_id must be 1-64 letters, digits, ".", "_" or "-"';
  // Calls from the device are given to the tenant whose staff has it (TenantResolver).
  if (owner !== tenantId) {
    return owner
      ? `device_id is a device of tenant ${owner} in the number plan, not of ${tenantId}`
      : "device_id is no staff member's device in the number plan";
  }
  if (!username) return 'username is empty';
  if (!realm || /[\s"]/.test(realm)) return 'realm is empty or has spaces or quotes';
  if (!MD5_HEX.test(md5Cred)) return 'md5_cred is not 32 lowercase hex digits';
  return undefined;
}

export function deviceObjects(credential: DeviceCredential): DeviceObjects {
  const id = credential.deviceId;
  return {
    deviceId: id,
    objects: [
      {
        type: 'auth',
        fields: [
          // `digest` with a stored HA1: `md5` and `md5_cred` still work on 22.10.1 but are deprecated.
          ['auth_type', 'digest'],
          ['username', credential.username],
          ['realm', credential.realm],
          ['password_digest', `MD5:${credential.md5Cred}`],
        ],
      },
      {
        type: 'aor',
        fields: [
          ['max_contacts', '2'],
          ['remove_existing', 'yes'],
          // A phone that does not answer OPTIONS is unreachable and never dialled (README).
          ['qualify_frequency', '30'],
        ],
      },
      {
        type: 'endpoint',
        fields: [
          ['transport', 'transport-udp'],
          ['context', 'from-devices'],
          ['language', 'de'],
          // Fields apply in order: `disallow = all` after `allow` would leave no codec.
          ['disallow', 'all'],
          ['allow', 'g722,alaw,ulaw'],
          ['direct_media', 'no'],
          ['rtp_symmetric', 'yes'],
          ['force_rport', 'yes'],
          ['rewrite_contact', 'yes'],
          ['aors', id],
          ['auth', id],
        ],
      },
    ],
  };
}

/** Equal fingerprints: nothing to push again (unless Asterisk may have forgotten it). */
export function fingerprint(objects: DeviceObjects): string {
  return JSON.stringify(objects.objects);
}
