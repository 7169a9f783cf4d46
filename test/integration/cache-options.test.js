'use strict';

// createCache(options): where it connects (URL, object, REDIS_URL, unix socket, credentials, db),
// its keyPrefix, and what connectTimeout and commandTimeout do against a real server.
const net = require('net');
const os = require('os');
const path = require('path');
const fs = require('fs');
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, once, waitFor, entryKey } = require('../helpers/cache');
const { redisName, familyPattern } = require('../helpers/layout');

let redis; // with a password, an ACL user and a unix socket
let tmpDir;
let socketPath;
let http;
let calls;

beforeAll(async () => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'respcache-test-'));
  socketPath = path.join(tmpDir, 'redis.sock');
  redis = await startRedis({ password: 's3cret', args: [
    '--user', 'alice', 'on', '>wonder@land', '~*', '&*', '+@all',
    '--unixsocket', socketPath, '--unixsocketperm', '700',
  ] });
});

afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

beforeEach(async () => {
  calls = 0;
  await redis.client().flushall();
});

afterEach(async () => {
  if (http) await http.close();
  http = null;
  await closeCaches();
});

const keysIn = (db, pattern = '*') => redis.keys(pattern, db);

async function appFor(cache, options = { exposeKey: true }) {
  const app = express();
  app.get('/r', cache.middleware(options), (req, res) => { calls++; res.send('hello'); });
  http = await serve(app);
  return http;
}

async function expectMissThenHit() {
  const miss = await http.get('/r');
  const hit = await http.get('/r');
  expect(miss.headers['x-cache']).toBe('MISS');
  expect(hit.headers['x-cache']).toBe('HIT');
  expect(hit.text).toBe('hello');
  expect(calls).toBe(1);
  return miss;
}

describe('redis', () => {
  describe('as a URL with a password and a db', () => {
    it('connects, authenticates and stores in that db', async () => {
      const { cache } = await openCache({ redis: `redis://:s3cret@127.0.0.1:${redis.port}/3` });
      await appFor(cache);
      const miss = await expectMissThenHit();
      expect(await keysIn(3, '*:e:*')).toEqual([entryKey(miss.headers['x-cache-key'])]);
      expect(await keysIn(0)).toEqual([]);
    });
  });

  describe('as a URL with a username and a percent-encoded password', () => {
    it('authenticates as that ACL user', async () => {
      const { cache } = await openCache({ redis: `redis://alice:wonder%40land@127.0.0.1:${redis.port}` });
      await appFor(cache);
      await expectMissThenHit();
      expect(await keysIn(0, familyPattern('e:*'))).toHaveLength(1);
    });
  });

  describe('as an object with host, port, password and db', () => {
    it('connects and stores in that db', async () => {
      const { cache } = await openCache({ redis: { host: '127.0.0.1', port: redis.port, password: 's3cret', db: 2 } });
      await appFor(cache);
      const miss = await expectMissThenHit();
      expect(await keysIn(2, '*:e:*')).toEqual([entryKey(miss.headers['x-cache-key'])]);
    });
  });

  describe('as an object with username and password', () => {
    it('authenticates as that ACL user', async () => {
      const { cache } = await openCache({ redis: { host: '127.0.0.1', port: redis.port, username: 'alice', password: 'wonder@land' } });
      await appFor(cache);
      await expectMissThenHit();
    });
  });

  describe('as an object with a unix socket path', () => {
    it('connects through the socket', async () => {
      const { cache } = await openCache({ redis: { path: socketPath, password: 's3cret', db: 5 } });
      await appFor(cache);
      const miss = await expectMissThenHit();
      expect(await keysIn(5, '*:e:*')).toEqual([entryKey(miss.headers['x-cache-key'])]);
    });
  });

  describe('as a unix:// URL', () => {
    it('connects through the socket', async () => {
      const plainSocket = path.join(tmpDir, 'plain.sock');
      const plain = await startRedis({ args: ['--unixsocket', plainSocket, '--unixsocketperm', '700'] });
      try {
        const { cache } = await openCache({ redis: `unix://${plainSocket}?db=6` });
        await appFor(cache);
        const miss = await expectMissThenHit();
        expect(await plain.keys('*:e:*', 6)).toEqual([entryKey(miss.headers['x-cache-key'])]);
        await cache.close();
      } finally {
        await plain.close();
      }
    });
  });

  describe('when absent', () => {
    it('connects to REDIS_URL', async () => {
      const saved = process.env.REDIS_URL;
      process.env.REDIS_URL = `redis://:s3cret@127.0.0.1:${redis.port}/7`;
      let opened;
      try {
        opened = await openCache({});
      } finally {
        if (saved === undefined) delete process.env.REDIS_URL; else process.env.REDIS_URL = saved;
      }
      await appFor(opened.cache);
      const miss = await expectMissThenHit();
      expect(await keysIn(7, '*:e:*')).toEqual([entryKey(miss.headers['x-cache-key'])]);
    });
  });

  describe('when the password is wrong', () => {
    it('reports an error and bypasses the cache', async () => {
      const { cache, errors } = await openCache({ redis: `redis://:wrong@127.0.0.1:${redis.port}` }, { waitReady: false });
      if (errors.length === 0) await once(cache, 'error');
      expect(errors[0]).toEqual(expect.objectContaining({ message: expect.any(String) }));
      await appFor(cache);
      const first = await http.get('/r');
      const second = await http.get('/r');
      expect([first.status, second.status]).toEqual([200, 200]);
      expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['BYPASS', 'BYPASS']);
      expect(second.text).toBe('hello');
      expect(calls).toBe(2);
    });
  });
});

describe('keyPrefix', () => {
  it('prefixes default keys and the Redis key family', async () => {
    const { cache } = await openCache({ redis: `redis://:s3cret@127.0.0.1:${redis.port}`, keyPrefix: 'api' });
    await appFor(cache);
    const miss = await expectMissThenHit();
    expect(miss.headers['x-cache-key']).toMatch(/^api:[0-9a-f]{64}$/);
    expect(await keysIn(0, '*:e:*')).toEqual([redisName(`e:${miss.headers['x-cache-key']}`, 'api')]);
  });

  it('keeps the cache family when a route sets its own keyPrefix', async () => {
    const { cache } = await openCache({ redis: `redis://:s3cret@127.0.0.1:${redis.port}`, keyPrefix: 'api' });
    await appFor(cache, { keyPrefix: 'route', exposeKey: true });
    const miss = await expectMissThenHit();
    expect(miss.headers['x-cache-key']).toMatch(/^route:[0-9a-f]{64}$/);
    expect(await keysIn(0, '*:e:*')).toEqual([redisName(`e:${miss.headers['x-cache-key']}`, 'api')]);
  });

  it('stores a builder key under the cache family', async () => {
    const { cache } = await openCache({ redis: `redis://:s3cret@127.0.0.1:${redis.port}`, keyPrefix: 'api' });
    await appFor(cache, { keyBuilder: () => 'k1' });
    await expectMissThenHit();
    expect(await keysIn(0, '*:e:*')).toEqual([redisName('e:k1', 'api')]);
  });
});

describe('connectTimeout', () => {
  let slow; // a real redis-server whose accept queue is full, so a TCP connect never completes
  const fillers = [];

  beforeAll(async () => {
    slow = await startRedis({ args: ['--tcp-backlog', '1'] });
    slow.freeze();
    // With a backlog of 1 the kernel queues two connections; the third SYN is dropped.
    for (let i = 0; i < 2; i++) {
      const socket = net.connect(slow.port, '127.0.0.1');
      fillers.push(socket);
      socket.on('error', () => {});
      await once(socket, 'connect');
    }
  });

  afterAll(async () => {
    for (const s of fillers) s.destroy();
    if (slow) await slow.close();
  });

  it('gives up a connect that does not complete in time, and requests bypass meanwhile', async () => {
    const started = Date.now();
    const short = await openCache({ redis: slow.url, connectTimeout: 300, commandTimeout: 100 }, { waitReady: false });
    const long = await openCache({ redis: slow.url, connectTimeout: 1500, commandTimeout: 100 }, { waitReady: false });
    const gaveUp = [];
    const firstError = async (name, { cache, errors }) => {
      if (errors.length === 0) await once(cache, 'error', 15000);
      gaveUp.push(name);
      return Date.now() - started;
    };
    const [shortMs, longMs] = await Promise.all([firstError('short', short), firstError('long', long)]);
    // Each gives up no sooner than its connectTimeout, and the short one first. How much later
    // than its timeout each error comes depends on the machine's load: only a connect that never
    // gives up fails the waits above.
    expect(shortMs).toBeGreaterThanOrEqual(250);
    expect(longMs).toBeGreaterThanOrEqual(1400);
    expect(gaveUp).toEqual(['short', 'long']);
    expect(short.errors[0].code).toMatch(/^ERR_RESPCACHE_/);

    await appFor(short.cache);
    const t0 = Date.now();
    const reply = await http.get('/r');
    // Redis accepts no connection before thaw() below: a request held until it could connect
    // would never answer; the bound only makes that a clear failure.
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-cache']).toBe('BYPASS');
    expect(reply.text).toBe('hello');

    // Once the server accepts again, the cache connects by itself.
    const ready = once(short.cache, 'ready', 10000);
    slow.thaw();
    for (const s of fillers) s.destroy();
    await ready;
    const miss = await http.get('/r');
    expect(miss.headers['x-cache']).toBe('MISS');
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
  });
});

describe('commandTimeout', () => {
  async function appWith(commandTimeout) {
    const { cache } = await openCache({ redis: `redis://:s3cret@127.0.0.1:${redis.port}`, commandTimeout });
    await appFor(cache);
  }

  it('bypasses a Redis that answers slower than commandTimeout', async () => {
    await appWith(100);
    // Redis answers nothing until thaw(): the reply, which comes before it, did not wait for
    // Redis. (A request held until Redis answers never gets here: the test times out.)
    redis.freeze();
    let reply;
    try {
      reply = await http.get('/r');
    } finally {
      redis.thaw();
    }
    expect(reply.status).toBe(200);
    expect(reply.headers['x-cache']).toBe('BYPASS');
    expect(reply.text).toBe('hello');
  });

  it('waits for a Redis that answers within commandTimeout', async () => {
    await appWith(5000);
    const control = redis.client({ connectionName: 'control' });
    const STALL_MS = 400;
    // Writes (the lookup's script) wait until CLIENT UNPAUSE; reads go on.
    expect(await control.call('CLIENT', 'PAUSE', '60000', 'WRITE')).toBe('OK');
    let reply;
    let blockedAt;
    try {
      const request = http.get('/r');
      // The lookup's script is in Redis, waiting (a blocked client): Redis stalls it STALL_MS
      // more, well within commandTimeout and past the default one.
      const blocked = async () => String(await control.call('CLIENT', 'LIST', 'TYPE', 'normal'))
        .split('\n').some((client) => / flags=b /.test(client));
      await waitFor(blocked, { timeout: 10000, what: 'the lookup waiting in Redis' });
      blockedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, STALL_MS));
      expect(await control.call('CLIENT', 'UNPAUSE')).toBe('OK');
      reply = await request;
    } finally {
      await control.call('CLIENT', 'UNPAUSE');
      control.disconnect();
    }
    expect(reply.status).toBe(200);
    expect(reply.headers['x-cache']).toBe('MISS');
    expect(Date.now() - blockedAt).toBeGreaterThanOrEqual(STALL_MS - 5); // timers may fire a few ms early
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
  });
});
