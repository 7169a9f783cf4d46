'use strict';

// The native RedisClient against a real redis-server: its whole contract from lib/binding.js.
const path = require('path');
const os = require('os');
const fs = require('fs');
const net = require('net');
const { once } = require('events');
const { performance } = require('perf_hooks');
const { RedisClient } = require('../../lib/binding');
const { startRedis, freePort } = require('../helpers/redis');

/** A client whose events are recorded, with a promise for the next event of each type. */
function makeClient(options) {
  const events = [];
  const waiters = [];
  const client = new RedisClient({
    host: '127.0.0.1',
    ...options,
    onEvent(type, error) {
      events.push({ type, error });
      for (const w of waiters.splice(0)) {
        if (w.type === type) w.resolve(error); else waiters.push(w);
      }
    },
  });
  client.events = events;
  client.next = (type) => new Promise((resolve) => waiters.push({ type, resolve }));
  client.ready = () => (client.status === 'ready' ? Promise.resolve() : client.next('ready'));
  return client;
}

describe('RedisClient', () => {
  let redis;
  let client;
  const socketPath = path.join(os.tmpdir(), `respcache-native-${process.pid}.sock`);

  beforeAll(async () => {
    redis = await startRedis({ args: ['--unixsocket', socketPath, '--unixsocketperm', '700'] });
    client = makeClient({ port: redis.port, commandTimeout: 2000 });
    await client.ready();
  });

  afterAll(async () => {
    await client.close();
    await redis.close();
    fs.rmSync(socketPath, { force: true });
  });

  describe('replies', () => {
    it('maps status, bulk, integer, nil and array replies to JavaScript values', async () => {
      expect(await client.command(['SET', 'r:a', 'x'])).toBe('OK');
      expect(await client.command(['GET', 'r:a'])).toEqual(Buffer.from('x'));
      expect(await client.command(['INCRBY', 'r:n', 41])).toBe(41);
      expect(await client.command(['GET', 'r:missing'])).toBeNull();
      expect(await client.command(['MGET', 'r:a', 'r:missing', 'r:n']))
        .toEqual([Buffer.from('x'), null, Buffer.from('41')]);
    });

    it('rejects with ERR_RESPCACHE_REDIS_REPLY when Redis answers with an error', async () => {
      await expect(client.command(['NOSUCHCOMMAND'])).rejects.toMatchObject({
        code: 'ERR_RESPCACHE_REDIS_REPLY',
        message: expect.stringContaining('unknown command'),
      });
    });

    it('is binary-safe in keys and values', async () => {
      const key = Buffer.from([0, 13, 10, 32, 255]);
      const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await client.command(['SET', key, value]);
      expect(await client.command(['GET', key])).toEqual(value);
      expect(await client.command(['STRLEN', key])).toBe(256);
    });

    it('returns large values intact (100 KB and 5 MB)', async () => {
      for (const size of [100 * 1024, 5 * 1024 * 1024]) {
        const value = Buffer.alloc(size);
        for (let i = 0; i < size; i += 997) value[i] = i & 0xff;
        await client.command(['SET', 'r:big', value]);
        const got = await client.command(['GET', 'r:big']);
        expect(got.length).toBe(size);
        expect(got.equals(value)).toBe(true);
      }
    });

    it('pipelines concurrent commands and answers each in issue order', async () => {
      await client.command(['DEL', 'r:seq']);
      const replies = await Promise.all(
        Array.from({ length: 2000 }, () => client.command(['INCR', 'r:seq'])));
      expect(replies).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    });

    it('rejects bad arguments synchronously with a TypeError', () => {
      expect(() => client.command('GET x')).toThrow(/array/);
      expect(() => client.command([])).toThrow(/command name/);
      expect(() => client.command(['GET', {}])).toThrow(/argument 1/);
    });
  });

  describe('connection options', () => {
    it('connects over a unix socket and selects the db', async () => {
      await client.command(['SELECT', '0']);
      const viaSocket = makeClient({ path: socketPath, db: 5 });
      await viaSocket.ready();
      await viaSocket.command(['SET', 'r:db', 'five']);
      expect(await client.command(['GET', 'r:db'])).toBeNull();
      expect(await viaSocket.command(['CLIENT', 'INFO'])).toEqual(expect.any(Buffer));
      expect(String(await viaSocket.command(['CLIENT', 'INFO']))).toMatch(/db=5/);
      await viaSocket.close();
    });

    it('authenticates with username and password (ACL)', async () => {
      await client.command(['ACL', 'SETUSER', 'alice', 'on', '>s3cret', '~*', '+@all']);
      const alice = makeClient({ port: redis.port, username: 'alice', password: 's3cret' });
      await alice.ready();
      expect(String(await alice.command(['ACL', 'WHOAMI']))).toBe('alice');
      await alice.close();
    });

    it('reports a refused handshake on the error event and keeps retrying', async () => {
      const wrong = makeClient({ port: redis.port, username: 'alice', password: 'nope' });
      const error = await wrong.next('error');
      expect(error).toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE' });
      expect(error.message).toMatch(/WRONGPASS/);
      await wrong.next('reconnecting');
      expect(wrong.status).toBe('reconnecting');
      await wrong.close();
      expect(wrong.status).toBe('closed');
    });

    it('lets a command issued while connecting wait for the connection', async () => {
      const fresh = makeClient({ port: redis.port, db: 5 });
      expect(fresh.status).toBe('connecting');
      expect(await fresh.command(['GET', 'r:db'])).toEqual(Buffer.from('five'));
      await fresh.close();
    });
  });

  describe('when Redis is not running', () => {
    it('fails commands at once between connection attempts', async () => {
      const port = await freePort();
      const down = makeClient({ port, connectTimeout: 200 });
      const error = await down.next('error');
      expect(error.message).toMatch(/refused/i);
      // Sent in the turn that reported the failed attempt, before the retry timer can fire: it
      // fails at once ("not connected"), where a command that waited for the next attempt would
      // fail with that attempt ("could not connect") or time out.
      await expect(down.command(['PING'])).rejects.toMatchObject({
        code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE',
        message: 'not connected to Redis',
      });
      await down.close();
    });

    it('times out a connection attempt that the server never completes', async () => {
      // A server that accepts TCP but never answers the AUTH handshake.
      const accepted = new Set();
      const silent = net.createServer((socket) => accepted.add(socket));
      silent.listen(0, '127.0.0.1');
      await once(silent, 'listening');
      const c = makeClient({ port: silent.address().port, password: 'x', connectTimeout: 150 });
      const pending = c.command(['PING'], 5000);
      const error = await c.next('error');
      expect(error.message).toMatch(/timed out after 150 ms/);
      await expect(pending).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE' });
      await c.close();
      // Its accepted sockets too: server.close() alone waits for them and kept the worker alive.
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
  });

  describe('when Redis stalls (SIGSTOP)', () => {
    it('times out after commandTimeout, then fails fast until Redis answers again', async () => {
      const c = makeClient({ port: redis.port, commandTimeout: 100 });
      await c.ready();
      // Frozen until the test has both rejections (not a timed CLIENT PAUSE, which a slow turn
      // could outlast; and CLIENT UNPAUSE is itself held by a PAUSE ALL): they come while Redis
      // is silent, so they are the client's own doing.
      redis.freeze();
      try {
        const started = performance.now();
        await expect(c.command(['GET', 'r:a'])).rejects.toMatchObject({
          code: 'ERR_RESPCACHE_REDIS_TIMEOUT', message: 'Redis did not answer within 100 ms',
        });
        expect(performance.now() - started).toBeGreaterThanOrEqual(90);
        // Issued in the turn of that timeout (within the stall limit): refused at once, not
        // sent to time out on its own.
        await expect(c.command(['GET', 'r:a'])).rejects.toMatchObject({
          code: 'ERR_RESPCACHE_REDIS_TIMEOUT', message: 'Redis has not answered earlier commands within their timeout',
        });
      } finally {
        redis.thaw();
      }
      // The stalled GET is answered once Redis runs again; from then on commands flow again.
      const deadline = Date.now() + 10000;
      let value;
      while (Date.now() < deadline) {
        value = await c.command(['GET', 'r:a']).catch(() => undefined);
        if (value) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(value).toEqual(Buffer.from('x'));
      await c.close();
    });
  });

  describe('when Redis is killed and restarted', () => {
    it('reports the loss, fails commands meanwhile and is ready within 5 s of the restart', async () => {
      const own = await startRedis();
      const c = makeClient({ port: own.port });
      await c.ready();
      const lost = c.next('error'); // registered first: the event can precede stop()'s promise
      await own.stop('SIGKILL');
      const error = await lost;
      expect(error).toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE' });
      await expect(c.command(['PING'])).rejects.toMatchObject({
        code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE',
      });
      const ready = c.next('ready');
      await own.start();
      const restarted = Date.now();
      await ready;
      // Retries are at most kMaxBackoffMs (2 s) apart; 10 s leaves a loaded machine room for the
      // attempt itself (the back-off's bounds are tested without a clock in reconnect_policy_test).
      expect(Date.now() - restarted).toBeLessThan(10000);
      expect(await c.command(['PING'])).toBe('PONG');
      await c.close();
      await own.close();
    });
  });

  describe('close()', () => {
    it('waits for commands in flight, then rejects new ones with ERR_RESPCACHE_REDIS_CLOSED', async () => {
      const c = makeClient({ port: redis.port });
      await c.ready();
      const inFlight = c.command(['SET', 'r:closing', 'v']);
      const closed = c.close();
      await expect(inFlight).resolves.toBe('OK');
      await closed;
      expect(c.status).toBe('closed');
      expect(c.events.map((e) => e.type)).toContain('end');
      await expect(c.command(['PING'])).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_CLOSED' });
      await expect(c.close()).resolves.toBeUndefined();
    });

    it('rejects commands still waiting for a connection', async () => {
      const c = makeClient({ port: redis.port });
      const waiting = expect(c.command(['PING'])).rejects.toMatchObject({
        code: 'ERR_RESPCACHE_REDIS_CLOSED',
      });
      await c.close();
      await waiting;
    });
  });
});
