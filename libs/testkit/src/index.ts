export { TESTER, startNats, type NatsServer, type NatsTestCredentials, type NatsUserName } from './nats.js';
export { startMongo, type MongoServer } from './mongo.js';
export { type RestartOptions } from './server-process.js';
export { infraMode, type InfraMode } from './docker.js';
export { toolsBinDir } from './tools.js';
export { startSmtpSink, type SmtpSink } from './smtp.js';
export { recordSpans } from './tracing.js';
export { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp.js';
export {
  startAsterisk,
  asteriskPrefix,
  type AsteriskServer,
  type AsteriskDevice,
  type StartAsteriskOptions,
} from './asterisk.js';
export { type SendFaxOptions, type SendFaxResult } from './asterisk-fax-sender.js';
export {
  placeCall,
  placeCalls,
  type CallOutcome,
  type CallResult,
  type CallScript,
  type LoadResult,
  type LoadScript,
  type SippCall,
  type SippLoad,
} from './sipp-caller.js';
export { startPhone, type PhoneBehaviour, type PhoneCounts, type SippPhone } from './sipp-phone.js';
export { DTMF_PRESS_MS, type KeyPress } from './rtp-dtmf.js';
export { deferred, eventually } from './waiting.js';
export {
  fuzzGrpcService,
  messageArbitrary,
  SERVER_FAILURE_CODES,
  type FuzzedCall,
  type FuzzHints,
  type FuzzServiceOptions,
} from './fuzz.js';
export { testTokens, type TestTokens } from './tokens.js';
