import { createLogger } from '@switchboard/service-kit';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { amtMenus } from '../test/menus.js';
import { MenuCache } from './menu-cache.js';
import { MenuStore } from './menu-store.js';

let mongo: MongoServer;
let client: MongoClient;
let store: MenuStore;

beforeAll(async () => {
  mongo = await startMongo();
  client = await MongoClient.connect(mongo.url);
  store = new MenuStore(client.db('ivr_cache_test'));
  // Saved by another replica; this cache has seen no menu_changed event for it.
  expect(await store.replace('t-kropp', 0, amtMenus(), new Date())).toBe(true);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await mongo?.stop();
});

describe('MenuCache.withMenu', () => {
  it('re-reads a tenant whose menu it lacks, at most once a second however many ask', async () => {
    const cache = new MenuCache(store, createLogger({ service: 'ivr-test', level: 'silent' }));
    const load = vi.spyOn(store, 'load');

    const sets = await Promise.all([cache.withMenu('t-kropp', 'main'), cache.withMenu('t-kropp', 'main')]);
    expect(sets.every((set) => set.menus.has('main'))).toBe(true);
    expect(load).toHaveBeenCalledTimes(1);

    // Held now: no read. An unknown menu within the same second: no second read either.
    expect((await cache.withMenu('t-kropp', 'main')).revision).toBe(1);
    expect((await cache.withMenu('t-kropp', 'no-such-menu')).menus.has('no-such-menu')).toBe(false);
    expect(load).toHaveBeenCalledTimes(1);
  });
});
