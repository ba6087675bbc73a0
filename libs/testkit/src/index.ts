export { startNats, type NatsServer } from './nats.js';
export { startMongo, type MongoServer } from './mongo.js';
export { infraMode, type InfraMode } from './docker.js';
export { toolsBinDir } from './tools.js';
export { startSmtpSink, type SmtpSink } from './smtp.js';
export { recordSpans } from './tracing.js';
export { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp.js';
