'use strict';

// Pub/sub on the native RedisClient (`subscriber: true`) against a real redis-server: delivery,
// isolation, unsubscribing, re-subscribing after Redis restarts, timeouts and stalls, refusals.
// Synchronisation is by events and by PUBLISH's receiver count, never by sleeping.
const { RedisClient } = require('../../lib/binding');
const { startRedis, freePort } = require('../helpers/redis');

/**
 * A client whose events are recorded, with a promise for the next event of each type.
 * Messages are recorded as { channel, payload, pattern } (channel and payload as Buffers).
 */
function makeClient(options) {
  const events = [];
  const messages = [];
  const waiters = [];
  const client = new RedisClient({
    host: '127.0.0.1',
    ...options,
    onEvent(type, error, channel, payload, pattern) {
      const event = { type, error, channel, payload, pattern };
      events.push(event);
      if (type === 'message' || type === 'pmessage') messages.push(event);
      for (const w of waiters.splice(0)) {
        if (w.type === type) w.resolve(type === 'message' || type === 'pmessage' ? event : error);
        else if (w.type === 'count' && messages.length >= w.n) w.resolve(messages);
        else waiters.push(w);
      }
      if (options.onEvent) options.onEvent(type, error, channel, payload, pattern);
    },
  });
  client.events = events;
  client.messages = messages;
  client.next = (type) => new Promise((resolve) => waiters.push({ type, resolve }));
  client.ready = () => (client.status === 'ready' ? Promise.resolve() : client.next('ready'));
  /** Resolves with the messages once at least n have arrived. */
  client.untilMessages = (n) => (messages.length >= n ? Promise.resolve(messages)
    : new Promise((resolve) => waiters.push({ type: 'count', n, resolve })));
  return client;
}

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('RedisClient with subscriber: true', () => {
  let redis;
  let pub;
  const open = [];

  /** A subscriber client that afterEach closes. */
  function subscriber(options = {}) {
    const c = makeClient({ port: redis.port, subscriber: true, commandTimeout: 2000, ...options });
    open.push(c);
    return c;
  }

  beforeAll(async () => {
    redis = await startRedis();
    pub = makeClient({ port: redis.port, commandTimeout: 2000 });
    await pub.ready();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await pub.close();
    await redis.close();
  });

  describe('when subscribed to a channel', () => {
    it('delivers a PUBLISHed payload with its channel, binary-safe in both', async () => {
      const sub = subscriber();
      const channel = Buffer.from([0, 13, 10, 255, 0x63]);
      await expect(sub.subscribe(channel)).resolves.toBeUndefined();
      const received = sub.next('message');
      expect(await pub.command(['PUBLISH', channel, allBytes])).toBe(1);
      const m = await received;
      expect(m.error).toBeNull();
      expect(m.channel).toEqual(channel);
      expect(m.payload).toEqual(allBytes);
      expect(Buffer.isBuffer(m.payload)).toBe(true);
    });

    it('delivers each message only to the subscribers of its channel', async () => {
      const both = subscriber();
      const onlyB = subscriber();
      await Promise.all([both.subscribe('iso:a'), both.subscribe('iso:b'), onlyB.subscribe('iso:b')]);
      const toOnlyB = onlyB.next('message');
      expect(await pub.command(['PUBLISH', 'iso:a', 'for a'])).toBe(1);
      expect(await pub.command(['PUBLISH', 'iso:b', 'for b'])).toBe(2);
      const m = await toOnlyB;
      expect(String(m.channel)).toBe('iso:b');
      expect(String(m.payload)).toBe('for b');
      // Messages on one connection arrive in publish order: iso:b's came second.
      await both.untilMessages(2);
      expect(both.messages.map((e) => `${e.channel}=${e.payload}`)).toEqual(['iso:a=for a', 'iso:b=for b']);
      expect(onlyB.messages).toHaveLength(1);
    });

    it('stops delivering a channel once unsubscribe() resolves', async () => {
      const sub = subscriber();
      await sub.subscribe('unsub:gone');
      await sub.subscribe('unsub:kept');
      await expect(sub.unsubscribe('unsub:gone')).resolves.toBeUndefined();
      expect(await pub.command(['PUBLISH', 'unsub:gone', 'x'])).toBe(0);
      const next = sub.next('message');
      expect(await pub.command(['PUBLISH', 'unsub:kept', 'y'])).toBe(1);
      expect(String((await next).channel)).toBe('unsub:kept');
      expect(sub.messages).toHaveLength(1);
    });

    it('accepts unsubscribe() of a channel it never subscribed', async () => {
      const sub = subscriber();
      await sub.ready();
      await expect(sub.unsubscribe('never')).resolves.toBeUndefined();
      expect(await sub.command(['PING'])).toBe('PONG');
    });

    it('delivers pattern matches as pmessage with the pattern', async () => {
      const sub = subscriber();
      await sub.psubscribe('pat:*');
      const next = sub.next('pmessage');
      expect(await pub.command(['PUBLISH', 'pat:one', 'p'])).toBe(1);
      const m = await next;
      expect({ channel: String(m.channel), payload: String(m.payload), pattern: String(m.pattern) })
        .toEqual({ channel: 'pat:one', payload: 'p', pattern: 'pat:*' });
      await sub.punsubscribe('pat:*');
      expect(await pub.command(['PUBLISH', 'pat:one', 'p'])).toBe(0);
    });

    it('answers PING before and after subscribing (as Redis does in each mode)', async () => {
      const sub = subscriber();
      expect(await sub.command(['PING'])).toBe('PONG');
      await sub.subscribe('ping:ch');
      // In subscribe mode Redis answers PING with ["pong", ""]; many in one batch stay paired.
      const pongs = await Promise.all(Array.from({ length: 50 }, () => sub.command(['PING'])));
      for (const p of pongs) expect(p).toEqual([Buffer.from('pong'), Buffer.alloc(0)]);
      const next = sub.next('message');
      await pub.command(['PUBLISH', 'ping:ch', 'still here']);
      expect(String((await next).payload)).toBe('still here');
    });

    it('lets a message listener close the client: no later message reaches JavaScript', async () => {
      const sub = subscriber({
        onEvent(type) { if (type === 'message') sub.close(); },
      });
      await sub.subscribe('reentrant');
      // One MULTI: both messages reach the subscriber in one write, so in one read.
      await pub.command(['MULTI']);
      await pub.command(['PUBLISH', 'reentrant', '1']);
      await pub.command(['PUBLISH', 'reentrant', '2']);
      const ended = sub.next('end');
      expect(await pub.command(['EXEC'])).toEqual([1, 1]);
      await ended;
      expect(sub.messages.map((m) => String(m.payload))).toEqual(['1']);
      expect(sub.status).toBe('closed');
    });
  });

  describe('refusals', () => {
    it('refuses commands other than PING on a subscriber client with a TypeError', async () => {
      const sub = subscriber();
      for (const argv of [['GET', 'k'], ['PUBLISH', 'c', 'm'], ['SUBSCRIBE', 'c'], [Buffer.from('set'), 'k', 'v']]) {
        expect(() => sub.command(argv)).toThrow(expect.objectContaining({
          name: 'TypeError', message: expect.stringContaining('only sends PING'),
        }));
      }
      await sub.ready();
    });

    it('refuses subscribe() and pub/sub commands on a normal client with a TypeError', () => {
      for (const call of [() => pub.subscribe('c'), () => pub.psubscribe('c*'), () => pub.unsubscribe('c')]) {
        expect(call).toThrow(expect.objectContaining({
          name: 'TypeError', message: expect.stringContaining('subscriber: true'),
        }));
      }
      for (const name of ['SUBSCRIBE', 'psubscribe', 'Unsubscribe', 'MONITOR', 'SSUBSCRIBE']) {
        expect(() => pub.command([name, 'c'])).toThrow(expect.objectContaining({ name: 'TypeError' }));
      }
    });

    it('validates the option and the channel argument', () => {
      expect(() => new RedisClient({ port: redis.port, subscriber: 'yes' }))
        .toThrow(/"subscriber" option must be a boolean/);
      const sub = subscriber();
      expect(() => sub.subscribe()).toThrow(/expects a string or a Buffer/);
      expect(() => sub.subscribe(42)).toThrow(/expects a string or a Buffer/);
    });
  });

  describe('errors', () => {
    it('rejects subscribe() with ERR_RESPCACHE_REDIS_CLOSED after close()', async () => {
      const sub = subscriber();
      await sub.subscribe('closed:a');
      await sub.close();
      await expect(sub.subscribe('closed:b')).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_CLOSED' });
      await expect(sub.unsubscribe('closed:a')).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_CLOSED' });
    });

    it('rejects subscribe() still waiting for the connection when close() is called', async () => {
      const sub = subscriber();
      const waiting = expect(sub.subscribe('closing')).rejects.toMatchObject({
        code: 'ERR_RESPCACHE_REDIS_CLOSED',
      });
      await sub.close();
      await waiting;
    });

    it('rejects subscribe() at once with ERR_RESPCACHE_REDIS_UNAVAILABLE between connection attempts; unsubscribe() resolves', async () => {
      const port = await freePort();
      const down = makeClient({ port, subscriber: true, connectTimeout: 200 });
      open.push(down);
      await down.next('reconnecting');
      await expect(down.subscribe('down')).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE' });
      await expect(down.unsubscribe('down')).resolves.toBeUndefined();
    });

    it('times out an unconfirmed subscribe(), then pairs the late confirmation correctly', async () => {
      const sub = subscriber({ commandTimeout: 100 });
      await sub.ready();
      // Redis frozen until the rejection is in (not a timed CLIENT PAUSE, which a slow turn could
      // outlast; CLIENT UNPAUSE is itself held by a PAUSE ALL): the timeout is the client's own.
      redis.freeze();
      try {
        await expect(sub.subscribe('late')).rejects.toMatchObject({
          code: 'ERR_RESPCACHE_REDIS_TIMEOUT', message: 'Redis did not answer within 100 ms',
        });
      } finally {
        redis.thaw();
      }
      // Once Redis runs again the late confirmation is consumed (not given to the next command)
      // and the channel, still in the set, delivers.
      let confirmed = false;
      while (!confirmed) {
        confirmed = await sub.subscribe('late2').then(() => true, (err) => {
          expect(err.code).toBe('ERR_RESPCACHE_REDIS_TIMEOUT');
          return new Promise((r) => setTimeout(r, 50)).then(() => false);
        });
      }
      const next = sub.next('message');
      expect(await pub.command(['PUBLISH', 'late', 'after pause'])).toBe(1);
      expect(String((await next).payload)).toBe('after pause');
      expect(await sub.command(['PING'])).toEqual([Buffer.from('pong'), Buffer.alloc(0)]);
    });

    it('drops a stalled connection after the stall limit and re-subscribes on the new one', async () => {
      const sub = subscriber({ commandTimeout: 100 });
      await sub.subscribe('stall');
      // Redis frozen until the client gave the connection up (the stall limit, 1 s after the
      // timeout): not a timed CLIENT PAUSE, which a slow turn could outlast. The new connection's
      // handshake waits for the thaw.
      const error = sub.next('error');
      const ready = sub.next('ready');
      redis.freeze();
      try {
        await expect(sub.command(['PING'])).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_TIMEOUT' });
        expect((await error).message).toMatch(/stopped answering/);
      } finally {
        redis.thaw();
      }
      await ready;
      const next = sub.next('message');
      expect(await pub.command(['PUBLISH', 'stall', 'back'])).toBe(1);
      expect(String((await next).payload)).toBe('back');
    });
  });

  describe('when Redis is killed and restarted', () => {
    it('re-subscribes every channel and pattern by itself before announcing ready', async () => {
      const own = await startRedis();
      const ownPub = makeClient({ port: own.port, commandTimeout: 2000 });
      const sub = makeClient({ port: own.port, subscriber: true, commandTimeout: 2000 });
      open.push(sub, ownPub);
      await Promise.all([sub.subscribe('re:a'), sub.subscribe('re:b'), sub.psubscribe('re:p*'),
        sub.subscribe('re:dropped')]);
      await sub.unsubscribe('re:dropped');
      // Each waiter is registered before the action that causes its event: the event can arrive
      // before the action's own promise settles (the socket closes before the process is reaped).
      const lostSub = sub.next('error');
      await own.stop('SIGKILL');
      await expect(lostSub).resolves.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE' });
      const lost = ownPub.command(['PING']).catch(() => 'down');
      expect(await lost).toBe('down');
      const back = Promise.all([sub.next('ready'), ownPub.next('ready')]);
      await own.start();
      await back;
      // Publishing right after 'ready' reaches every subscription: they were confirmed before it.
      expect(await ownPub.command(['PUBLISH', 're:a', '1'])).toBe(1);
      expect(await ownPub.command(['PUBLISH', 're:b', '2'])).toBe(1);
      expect(await ownPub.command(['PUBLISH', 're:px', '3'])).toBe(1);
      expect(await ownPub.command(['PUBLISH', 're:dropped', '4'])).toBe(0);
      await sub.untilMessages(3);
      expect(sub.messages.map((m) => `${m.type} ${m.channel}=${m.payload}`))
        .toEqual(['message re:a=1', 'message re:b=2', 'pmessage re:px=3']);
      await own.close();
    });
  });
});
