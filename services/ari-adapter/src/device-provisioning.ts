import { ExponentialBackoff, handleAll, retry, type RetryPolicy } from 'cockatiel';
import type { Logger } from '@switchboard/service-kit';
import { AriRequestError, type AriOps } from './ari-ops.js';
import {
  DELETE_ORDER,
  credentialProblem,
  deviceObjects,
  fingerprint,
  type DeviceCredential,
} from './device-objects.js';
import type { DirectoryClient } from './directory-client.js';
import type { AdapterMetrics } from './metrics.js';

// Every device of the directory's tenants exists on this adapter's Asterisk: auth, AOR and endpoint
// pushed through ARI's dynamic configuration from the directory's credentials. Asterisk keeps them
// in memory only (docker/asterisk/sorcery.conf), so after every reconnect of the events connection
// — Asterisk may have restarted — and every refresh interval everything is pushed again; a
// directory change event of a tenant pushes that tenant's difference. Not on the per-call path:
// calls only find the devices there.

/** Which tenants there are and whose device is whose: the number plan read from the directory. */
export interface DeviceOwners {
  readonly tenantIds: readonly string[];
  ownerOf(deviceId: string): string | undefined;
}

export interface DeviceProvisionerOptions {
  owners: DeviceOwners;
  directory: Pick<DirectoryClient, 'listDeviceCredentials'>;
  ari: AriOps;
  logger: Logger;
  metrics: AdapterMetrics;
  /** First wait after a failed run; doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

interface TenantState {
  tenantId: string;
  /** What Asterisk holds from this adapter: device id → fingerprint of its pushed objects. */
  pushed: Map<string, string>;
  /** The first complete run succeeded. */
  provisioned: boolean;
  running: boolean;
  /** Another run was asked for while one ran; `full` if any of those asked for one. */
  again: { full: boolean } | undefined;
}

/** A PUT refused with 403: the object is in pjsip.conf, which wins and which ARI cannot change. */
const isStatic = (error: unknown) => error instanceof AriRequestError && error.status === 403;

export class DeviceProvisioner {
  private readonly tenants = new Map<string, TenantState>();
  private readonly policy: RetryPolicy;
  private readonly abort = new AbortController();
  private readonly runs = new Set<Promise<void>>();
  /** Endpoints in pjsip.conf (ARI refused to delete them): never tried again. */
  private readonly staticEndpoints = new Set<string>();

  constructor(private readonly o: DeviceProvisionerOptions) {
    this.policy = retry(handleAll, {
      maxAttempts: Number.MAX_SAFE_INTEGER,
      backoff: new ExponentialBackoff({ initialDelay: o.retryDelayMs ?? 1_000, maxDelay: o.maxRetryDelayMs ?? 30_000 }),
    });
  }

  /** Every tenant's devices were pushed once; until then a dial to one of them would fail. */
  get isReady(): boolean {
    return this.o.owners.tenantIds.every((tenantId) => this.tenants.get(tenantId)?.provisioned);
  }

  /**
   * After every (re)connect (Asterisk may have restarted and forgotten every pushed object) and
   * every refresh interval (a change event may have been missed): every tenant, completely.
   */
  pushAll(): void {
    for (const tenantId of new Set([...this.o.owners.tenantIds, ...this.tenants.keys()])) this.sync(tenantId, true);
  }

  /** After a change of the tenant in the directory: what differs from what was pushed. */
  pushChanges(tenantId: string): void {
    this.sync(tenantId, false);
  }

  /** Stops retrying and waits for runs in progress to give up. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.runs]);
  }

  /** One run per tenant at a time; requests meanwhile fold into one more run after it. */
  private sync(tenantId: string, full: boolean): void {
    if (this.abort.signal.aborted) return;
    let tenant = this.tenants.get(tenantId);
    if (!tenant) {
      tenant = { tenantId, pushed: new Map(), provisioned: false, running: false, again: undefined };
      this.tenants.set(tenantId, tenant);
    }
    if (tenant.running) {
      tenant.again = { full: full || (tenant.again?.full ?? false) };
      return;
    }
    tenant.running = true;
    const run = this.runUntilDone(tenant, full).finally(() => {
      tenant.running = false;
      this.runs.delete(run);
      const again = tenant.again;
      tenant.again = undefined;
      if (again) this.sync(tenantId, again.full);
    });
    this.runs.add(run);
  }

  private async runUntilDone(tenant: TenantState, full: boolean): Promise<void> {
    let attempt = 0;
    try {
      await this.policy.execute(async () => {
        attempt += 1;
        try {
          // A retry after a failed full run stays full: what it had pushed may be gone again.
          await this.provision(tenant, full);
        } catch (error) {
          this.o.metrics.provisioningFailures.add(1, { reason: 'run_failed' });
          this.o.logger.warn(
            { err: error, tenantId: tenant.tenantId, attempt },
            'provisioning the devices failed; trying again with back-off',
          );
          throw error;
        }
      }, this.abort.signal);
    } catch (error) {
      if (!this.abort.signal.aborted) throw error;
    }
  }

  private async provision(tenant: TenantState, full: boolean): Promise<void> {
    // A tenant gone from the directory has no devices left: its pushed ones are removed.
    const known = this.o.owners.tenantIds.includes(tenant.tenantId);
    const { devices } = known ? await this.o.directory.listDeviceCredentials(tenant.tenantId) : { devices: [] };
    const wanted = new Map<string, DeviceCredential>();
    const refused = new Set<string>();
    for (const credential of devices) {
      const problem = credentialProblem(credential, tenant.tenantId, this.o.owners.ownerOf(credential.deviceId));
      if (problem) {
        // Not pushed, and not deleted if an earlier valid version was: the phone keeps working.
        refused.add(credential.deviceId);
        this.o.metrics.provisioningFailures.add(1, { reason: 'invalid_credential' });
        this.o.logger.error(
          { tenantId: tenant.tenantId, deviceId: credential.deviceId, problem },
          'the directory sent a device credential Asterisk cannot use; device not provisioned',
        );
      } else {
        wanted.set(credential.deviceId, credential);
      }
    }

    let pushed = 0;
    for (const credential of wanted.values()) {
      const objects = deviceObjects(credential);
      const print = fingerprint(objects);
      if (!full && tenant.pushed.get(credential.deviceId) === print) continue;
      try {
        for (const { type, fields } of objects.objects)
          await this.o.ari.putPjsipObject(type, credential.deviceId, fields);
      } catch (error) {
        if (!isStatic(error)) throw error;
        this.o.logger.warn(
          { tenantId: tenant.tenantId, deviceId: credential.deviceId },
          'device is configured in pjsip.conf, which wins over a pushed one; left as it is there',
        );
      }
      tenant.pushed.set(credential.deviceId, print);
      pushed += 1;
    }

    const gone = [...tenant.pushed.keys()].filter((deviceId) => !wanted.has(deviceId) && !refused.has(deviceId));
    if (full) {
      // Devices removed while no adapter ran (or pushed by an earlier process) are not in `pushed`:
      // an endpoint that is no tenant's device any more is removed (one in pjsip.conf refuses).
      const listed = await this.o.ari.listPjsipEndpoints();
      for (const name of listed) {
        const owner = this.o.owners.ownerOf(name);
        const ours = owner === tenant.tenantId || (owner === undefined && !this.staticEndpoints.has(name));
        if (ours && !wanted.has(name) && !refused.has(name) && !gone.includes(name)) gone.push(name);
      }
    }
    let removed = 0;
    for (const deviceId of gone) {
      try {
        for (const type of DELETE_ORDER) await this.o.ari.deletePjsipObject(type, deviceId);
      } catch (error) {
        // In pjsip.conf (ARI answers 403): not this adapter's to remove.
        if (!isStatic(error)) throw error;
        tenant.pushed.delete(deviceId);
        this.staticEndpoints.add(deviceId);
        continue;
      }
      tenant.pushed.delete(deviceId);
      removed += 1;
      this.o.logger.info({ tenantId: tenant.tenantId, deviceId }, 'device removed from Asterisk');
    }

    this.o.metrics.devicesProvisioned.add(pushed, { tenant: tenant.tenantId });
    if (pushed || removed || !tenant.provisioned) {
      this.o.logger.info(
        { tenantId: tenant.tenantId, devices: wanted.size, pushed, removed, full },
        'devices provisioned on Asterisk',
      );
    }
    tenant.provisioned = true;
  }
}
