export { startAriSim, type AriSim, type AriSimOptions } from './server.js';
export type { EndpointBehavior, FaxScript, InboundCall, ScriptStep } from './model.js';
export type { CallRecord } from './records.js';
export type { MediaChange, MediaSource } from './media-timeline.js';
export type { MessageScript, RecordingEnd } from './recordings.js';
export { defaultSounds } from './sounds.js';
export type { DelaySpec } from './random.js';
