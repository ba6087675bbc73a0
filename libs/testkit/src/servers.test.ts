import { connect as connectTcp } from 'node:net';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startMongo } from './mongo.js';
import { startNats } from './nats.js';

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

const savedToolsBin = process.env['SWITCHBOARD_TOOLS_BIN'];
afterEach(() => {
  if (savedToolsBin === undefined) delete process.env['SWITCHBOARD_TOOLS_BIN'];
  else process.env['SWITCHBOARD_TOOLS_BIN'] = savedToolsBin;
});

describe('testkit servers', () => {
  it('starts NATS and a MongoDB-wire server on loopback and stops them again', async () => {
    const [nats, mongo] = await Promise.all([startNats(), startMongo()]);
    try {
      expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      expect(mongo.url).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\//);
      expect(await accepts(nats.url)).toBe(true);
      expect(await accepts(mongo.url)).toBe(true);
    } finally {
      await Promise.all([nats.stop(), mongo.stop()]);
    }
    expect(await accepts(nats.url)).toBe(false);
    expect(await accepts(mongo.url)).toBe(false);
    await nats.stop();
  });

  it('gives two servers two ports', async () => {
    const [a, b] = await Promise.all([startNats(), startNats()]);
    try {
      expect(a.url).not.toBe(b.url);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('names the bootstrap command when the local binaries are missing', async () => {
    process.env['SWITCHBOARD_TOOLS_BIN'] = '/nonexistent/tools/bin';
    expect(existsSync('/nonexistent/tools/bin')).toBe(false);
    await expect(startNats()).rejects.toThrow(/nats-server is not installed .* Run `bash scripts\/bootstrap`/);
    await expect(startMongo()).rejects.toThrow(/ferretdb is not installed/);
  });
});
