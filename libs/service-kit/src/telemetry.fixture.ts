// Makes one gRPC call and one MongoDB round trip with telemetry on, so the test can see the
// instrumentations' spans arrive at its OTLP endpoint. Run by telemetry.test.ts with
// `node --import ./instrument.ts`, as services run with `--import @switchboard/service-kit/instrument`.
import * as grpc from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { callControlV1 } from '@switchboard/proto';
import { MongoClient } from 'mongodb';
import { startTelemetry } from './telemetry.js';

const server = new grpc.Server();
server.addService(callControlV1.CallControlServiceService, {
  answer: (_call: unknown, callback: grpc.sendUnaryData<callControlV1.AnswerResponse>) => callback(null, {}),
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
    error ? reject(error) : resolve(bound),
  ),
);
const client = new callControlV1.CallControlServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
await new Promise((resolve, reject) =>
  client.answer({ tenantId: 't-a', callId: 'c1', commandId: 'telemetry-1' }, (error, response) =>
    error ? reject(error) : resolve(response),
  ),
);
client.close();
server.forceShutdown();

// Database spans are only recorded inside another span (an RPC or a message, in a service).
const mongo = new MongoClient(process.env['MONGO_URL'] ?? '');
await trace.getTracer('fixture').startActiveSpan('handle message', async (span) => {
  await mongo.db('telemetry_fixture').collection('pings').insertOne({ at: new Date() });
  span.end();
});
await mongo.close();

// Already started by the --import; this returns that instance, whose shutdown flushes the spans.
await startTelemetry({ serviceName: 'unused', serviceVersion: 'unused' }).shutdown();
