import { readFile } from 'node:fs/promises';
import type { ObjectStore } from '@nats-io/obj';
import { FAX_INBOX_BUCKET, FaxEvents } from '@switchboard/events';
import { faxV1 } from '@switchboard/proto';
import type { Logger } from '@switchboard/service-kit';
import type { AriOps } from './ari-ops.js';
import { callerLeg, type CallRecord } from './calls.js';
import type { CallTracker } from './call-tracker.js';

/** Channel variables the fax dialplan (docker/asterisk/extensions.conf) leaves for the adapter. */
export const FAX_VARIABLES = { file: 'FAXFILE', error: 'FAXERROR', station: 'REMOTESTATIONID' } as const;

/**
 * Hands a call to ReceiveFAX in the dialplan and, when the channel comes back into Stasis with
 * `faxdone,<status>,<pages>`, stores the TIFF in the `fax-inbox` object store and publishes
 * FaxReceived — for failed receptions too, with what arrived, so no fax is lost silently.
 */
export class FaxHandoff {
  private readonly started = new Map<string, Date>();

  constructor(
    private readonly deps: {
      ari: AriOps;
      tracker: CallTracker;
      inbox: ObjectStore;
      adapterId: string;
      context: string;
      extension: string;
      logger: Logger;
    },
  ) {}

  async begin(call: CallRecord): Promise<void> {
    const caller = callerLeg(call);
    call.inFax = true;
    this.started.set(call.callId, new Date());
    caller.tags['fax'] = 'true';
    try {
      // A reception takes a quarter of a minute or more: should this process die meanwhile, the next
      // one finds the call's tenant and number on the channel when it comes back (one request per fax).
      await this.deps.tracker.remember(call, true);
      await this.deps.ari.continueInDialplan(caller.channelId, this.deps.context, this.deps.extension);
    } catch (error) {
      call.inFax = false;
      this.started.delete(call.callId);
      throw error;
    }
  }

  async done(call: CallRecord, args: string[]): Promise<void> {
    const [, status = '', pages = '0'] = args;
    const caller = callerLeg(call);
    const [file, faxError, station] = await Promise.all([
      this.deps.ari.getVariable(caller.channelId, FAX_VARIABLES.file),
      this.deps.ari.getVariable(caller.channelId, FAX_VARIABLES.error),
      this.deps.ari.getVariable(caller.channelId, FAX_VARIABLES.station),
    ]);
    let documentUri = '';
    let documentBytes = 0;
    let storeError = '';
    if (file) {
      try {
        const data = await readFile(file);
        const name = `${call.tenantId}/${call.callId}.tif`;
        await this.deps.inbox.putBlob({ name }, data);
        documentUri = `nats-object://${FAX_INBOX_BUCKET}/${name}`;
        documentBytes = data.length;
      } catch (error) {
        storeError = `document not stored: ${(error as Error).message}`;
        this.deps.logger.error({ err: error, callId: call.callId, file }, 'could not store the received fax document');
      }
    }
    const success = status === 'SUCCESS' && documentUri !== '';
    this.deps.tracker.publish(call, FaxEvents.received, {
      callId: call.callId,
      adapterId: this.deps.adapterId,
      dialedNumber: call.dialedNumber,
      callerNumber: caller.from,
      remoteStationId: station ?? '',
      pages: Number.parseInt(pages, 10) || 0,
      result: success ? faxV1.FaxResult.FAX_RESULT_SUCCESS : faxV1.FaxResult.FAX_RESULT_FAILED,
      error: [faxError, storeError, status && status !== 'SUCCESS' ? `FAXSTATUS ${status}` : '']
        .filter(Boolean)
        .join('; '),
      startedAt: this.started.get(call.callId) ?? call.startedAt,
      endedAt: new Date(),
      documentUri,
      documentBytes: String(documentBytes),
    });
    this.started.delete(call.callId);
    await this.deps.tracker.hangupLeg(caller, 16);
  }
}
