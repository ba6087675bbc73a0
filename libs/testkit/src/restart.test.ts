import { connect as connectTcp } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nkeyAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { startMongo } from './mongo.js';
import { TESTER, startNats } from './nats.js';

function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connectTcp({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('restarting the testkit servers', () => {
  it('NATS comes back on the same port with the JetStream store and the users it had', async () => {
    const nats = await startNats();
    try {
      const { seed } = nats.credentials(TESTER);
      const options = {
        servers: nats.url,
        authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)),
      };
      const before = await connect({ ...options, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      const jsm = await jetstreamManager(before);
      await jsm.streams.add({ name: 'RESTART', subjects: ['restart.>'] });
      await jetstream(before).publish('restart.kept', 'stored before the restart');
      const seen: string[] = [];
      const reconnected = (async () => {
        for await (const status of before.status()) {
          if (status.type === 'disconnect' || status.type === 'reconnect') seen.push(status.type);
          if (status.type === 'reconnect') return;
        }
      })();
      await nats.restart({ downMs: 300 });
      expect(await accepts(nats.url)).toBe(true);
      // A client connected before went away with the old process and found the new one at the same address.
      await reconnected;
      expect(seen).toEqual(['disconnect', 'reconnect']);
      await before.close();

      const after = await connect(options);
      try {
        const message = await (await jetstreamManager(after)).streams.getMessage('RESTART', { seq: 1 });
        expect(message?.string()).toBe('stored before the restart');
      } finally {
        await after.close();
      }
    } finally {
      await nats.stop();
    }
    expect(await accepts(nats.url)).toBe(false);
  });

  it('FerretDB comes back on the same port with its data', async () => {
    const mongo = await startMongo();
    try {
      const client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 10_000 });
      try {
        await client
          .db('restart')
          .collection('kept')
          .insertOne({ _id: 'before' as never, value: 42 });
        await mongo.restart({ downMs: 300 });
        expect(await accepts(mongo.url)).toBe(true);
        // The same client reconnects to the same address.
        expect(
          await client
            .db('restart')
            .collection('kept')
            .findOne({ _id: 'before' as never }),
        ).toMatchObject({
          value: 42,
        });
      } finally {
        await client.close();
      }
    } finally {
      await mongo.stop();
    }
    expect(await accepts(mongo.url)).toBe(false);
  });

  it('refuses a restart after stop', async () => {
    const nats = await startNats();
    await nats.stop();
    await expect(nats.restart()).rejects.toThrow(/stopped server/);
  });
});
