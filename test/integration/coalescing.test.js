'use strict';

// Request coalescing: one handler run per key in one process and across processes, and every
// way the leader can fail handing the waiters their own handler run, never someone else's answer.
const nodeHttp = require('http');
const path = require('path');
const { spawn } = require('child_process');
const express = require('express');
const { startRedis, freePort } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, waitFor, gate } = require('../helpers/cache');
const { busReady, inFlight, onFlightJoin } = require('../helpers/internals');
const { redisName, familyPattern } = require('../helpers/layout');

const CHILD = path.join(__dirname, '..', 'helpers', 'coalesce-child.js');

let redis;
let cache;
let http;
let calls;

beforeAll(async () => {
  redis = await startRedis();
  ({ cache } = await openCache({ redis: redis.url, commandTimeout: 1000 }));
});

afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});

beforeEach(async () => {
  await redis.client().flushall();
  calls = 0;
});

afterEach(async () => {
  if (http) await http.close();
  http = null;
});

/** Serves app.get('/r', middleware, handler) with the handler delayed, counting runs. */
async function route(options, respond, delay = 30, useCache = cache) {
  const app = express();
  app.get('/r', useCache.middleware(options), (req, res, next) => {
    const n = ++calls;
    setTimeout(() => respond(req, res, next, n), delay);
  });
  http = await serve(app);
}

const burst = (n, p = '/r', opts = {}) => Promise.all(Array.from({ length: n }, () => http.get(p, { agent: false, ...opts })));

describe('when 200 requests for one cold URL arrive at once in one process', () => {
  it('runs the handler once and answers all of them with the same JSON', async () => {
    await route({}, (req, res) => res.json({ items: [1, 2, 3], name: 'ä✓' }));
    const replies = await burst(200);
    expect(calls).toBe(1);
    expect(replies.every((r) => r.status === 200 && r.text === '{"items":[1,2,3],"name":"ä✓"}')).toBe(true);
    const kinds = replies.map((r) => r.headers['x-cache']);
    expect(kinds.filter((k) => k === 'MISS')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'HIT')).toHaveLength(199);
    // Those that arrived while the handler ran waited for it; later ones found the stored entry.
    const coalesced = replies.filter((r) => r.headers['x-cache-coalesced'] === '1').length;
    expect(coalesced).toBeGreaterThan(0);
    expect(cache.stats().coalesced).toBeGreaterThanOrEqual(coalesced);
  });

  it('does the same for a binary Buffer body', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    await route({}, (req, res) => res.type('application/octet-stream').send(bytes));
    const replies = await burst(200);
    expect(calls).toBe(1);
    expect(replies.every((r) => r.status === 200 && r.body.equals(bytes))).toBe(true);
  });
});

describe.each([
  ['answers 500', (req, res, next, n) => res.status(500).send(`error ${n}`), 500],
  ['passes an error to next()', (req, res, next, n) => next(new Error(`failure ${n}`)), 500],
  ['sets a cookie', (req, res, next, n) => res.cookie('session', `s${n}`).send(`personal ${n}`), 200],
  ['answers Cache-Control: private', (req, res, next, n) => res.set('Cache-Control', 'private').send(`private ${n}`), 200],
])('when the leader %s', (_what, respond, status) => {
  it('lets every waiter run its own handler and get its own response, and stores nothing', async () => {
    await route({}, respond);
    const replies = await burst(10);
    expect(calls).toBe(10);
    expect(replies.every((r) => r.status === status)).toBe(true);
    // Each reply is its own handler's (numbered) answer: nobody got another request's response.
    const numbers = replies.map((r) => (r.text.match(/(?:error|failure|personal|private) (\d+)/) || [])[1]);
    expect(new Set(numbers).size).toBe(10);
    const cookies = replies.map((r) => r.headers['set-cookie']).filter(Boolean).map((c) => c[0]);
    expect(new Set(cookies).size).toBe(cookies.length);
    expect(await redis.keys(familyPattern('e:*'))).toEqual([]);
  });
});

describe('when the leader never answers', () => {
  it('lets the waiters run their own handler after coalesceTimeout', async () => {
    // The leader answers only once the waiters have their replies (or, should they wait for it,
    // after 10 s: they would then get its answer, not their own).
    const leading = gate();
    const waitersDone = gate();
    const giveUp = setTimeout(waitersDone.open, 10000);
    let first = true;
    const app = express();
    app.get('/r', cache.middleware({ coalesceTimeout: 200 }), async (req, res) => {
      calls++;
      if (first) {
        first = false;
        leading.open();
        await waitersDone.promise;
        res.send('late leader');
        return;
      }
      res.send('own');
    });
    http = await serve(app);
    const leader = http.get('/r', { agent: false });
    await leading.promise;
    const waiters = await burst(5);
    waitersDone.open();
    clearTimeout(giveUp);
    expect(waiters.map((r) => `${r.status} ${r.text}`)).toEqual(Array(5).fill('200 own'));
    expect((await leader).text).toBe('late leader');
  });
});

describe('when coalesce is false', () => {
  it('runs the handler for every concurrent cold request', async () => {
    // Each run answers once all 10 have started (else a late request could find the entry an
    // early one stored, a HIT); coalesced requests would never all start: after 10 s they answer.
    const allStarted = gate();
    const giveUp = setTimeout(allStarted.open, 10000);
    await route({ coalesce: false }, async (req, res, next, n) => {
      if (n === 10) allStarted.open();
      await allStarted.promise;
      res.send('x');
    }, 0);
    await burst(10);
    clearTimeout(giveUp);
    expect(calls).toBe(10);
  });
});

describe('when Redis is unavailable', () => {
  it('still coalesces the requests of one process', async () => {
    const { cache: offline } = await openCache({ redis: `redis://127.0.0.1:${await freePort()}` }, { waitReady: false });
    // The leader answers once the 19 others have joined its flight (not after a delay the burst
    // may outlast under load).
    let joined = 0;
    const allJoined = gate();
    onFlightJoin(offline, () => { if (++joined === 19) allJoined.open(); });
    const app = express();
    app.get('/r', offline.middleware(), async (req, res) => {
      calls++;
      await allJoined.promise;
      res.json({ ok: true });
    });
    http = await serve(app);
    const replies = await burst(20);
    expect(calls).toBe(1);
    expect(replies.every((r) => r.status === 200 && r.text === '{"ok":true}')).toBe(true);
    expect(replies.filter((r) => r.headers['x-cache'] === 'BYPASS')).toHaveLength(1);
  });
});

describe('when the leader is a BYPASS and its response varies on a header the key lacks', () => {
  it('does not hand it to a waiter that sent another value of that header', async () => {
    const { cache: offline } = await openCache({ redis: `redis://127.0.0.1:${await freePort()}` }, { waitReady: false });
    // The leader answers once a second request has joined its flight.
    const followerJoined = gate();
    onFlightJoin(offline, () => followerJoined.open());
    const app = express();
    app.get('/greeting', offline.middleware(), async (req, res) => {
      const lang = req.get('accept-language');
      if (lang === 'en') await followerJoined.promise;
      res.set('Vary', 'Accept-Language').send(lang === 'fr' ? 'bonjour' : 'hello');
    });
    http = await serve(app);
    const en = http.get('/greeting', { agent: false, headers: { 'accept-language': 'en' } });
    await waitFor(() => inFlight(offline).leading === 1, { what: 'the first request leading' });
    const fr = http.get('/greeting', { agent: false, headers: { 'accept-language': 'fr' } });
    expect((await en).text).toBe('hello');
    expect((await fr).text).toBe('bonjour');
  });
});

describe('when the client of a leader waiting for another process\'s lock goes away', () => {
  it('ends its flight, so that later requests do not wait for it', async () => {
    await route({ keyBuilder: () => 'page', coalesceTimeout: 20000 }, (req, res) => {
      // Like res.sendFile or a stream pipeline, this handler does not end a closed response.
      if (!res.destroyed) res.send('page');
    }, 0);
    // Held until the test deletes it, as it would expire, once the client has gone.
    await redis.client().set(redisName('l:e:page'), 'another process', 'PX', '60000');
    const gone = nodeHttp.get({ host: '127.0.0.1', port: http.port, path: '/r', agent: false });
    gone.on('error', () => {});
    await waitFor(() => inFlight(cache).leading === 1, { what: 'the request leading, waiting for the lock' });
    gone.destroy();
    await redis.client().del(redisName('l:e:page'));
    await waitFor(() => calls === 1, { timeout: 10000, what: 'the handler run once the lock was gone' });
    await waitFor(() => inFlight(cache).leading === 0 && inFlight(cache).flights === 0,
      { timeout: 10000, what: 'the flight ended' });
    const next = await http.get('/r', { agent: false });
    expect([next.headers['x-cache'], next.text]).toEqual(['MISS', 'page']);
  });
});

describe('across processes', () => {
  const children = [];

  function startChild(delay, mode = '', lockTtl = 10000) {
    const child = spawn(process.execPath, [CHILD, redis.url, String(delay), mode, String(lockTtl)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const line = out.split('\n')[0];
        if (out.includes('\n')) resolve({ child, port: JSON.parse(line).port });
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
  }

  function get(port, p) {
    return new Promise((resolve, reject) => {
      // One Host for every process, as behind a load balancer (the default key includes it).
      require('http').get({ host: '127.0.0.1', port, path: p, agent: false, headers: { host: 'api.example' } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, xCache: res.headers['x-cache'], text: Buffer.concat(chunks).toString() }));
      }).on('error', reject);
    });
  }

  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  it('runs the handler once in total for 4 processes x 50 concurrent cold requests, in at least 19 of 20 trials', async () => {
    const servers = await Promise.all([0, 1, 2, 3].map(() => startChild(50)));
    let exactlyOnce = 0;
    for (let trial = 0; trial < 20; trial++) {
      const p = `/r?trial=${trial}`;
      const replies = await Promise.all(servers.flatMap(({ port }) => Array.from({ length: 50 }, () => get(port, p))));
      expect(replies.every((r) => r.status === 200 && JSON.parse(r.text).url === p)).toBe(true);
      const counts = await Promise.all(servers.map(async ({ port }) => JSON.parse((await get(port, '/calls')).text)[p] || 0));
      // Never more than one run per process, whatever happens between them.
      expect(counts.every((c) => c <= 1)).toBe(true);
      if (counts.reduce((a, b) => a + b, 0) === 1) exactlyOnce++;
    }
    expect(exactlyOnce).toBeGreaterThanOrEqual(19);
  }, 120000); // 4000 requests to 4 processes: under the sanitizer on a loaded machine, over 30 s

  it('elects a new leader when the leading process is killed mid-handler', async () => {
    // The lock must outlive the polling below and the check of it; the other process then waits
    // that long for it to expire.
    const LOCK_TTL = 3000;
    const [dying, other] = await Promise.all([startChild(20, 'hang', LOCK_TTL), startChild(20, '', LOCK_TTL)]);
    const p = '/r?x=1';
    const doomed = get(dying.port, p).catch(() => 'killed');
    // The dying process leads: it holds the lock once its handler has started.
    for (let i = 0; i < 200; i++) {
      if ((JSON.parse((await get(dying.port, '/calls')).text)[p] || 0) === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await redis.keys(familyPattern('l:*'))).toHaveLength(1);
    const started = Date.now();
    const waiting = get(other.port, p);
    dying.child.kill('SIGKILL');
    expect(await doomed).toBe('killed');
    // The other process waits until the lock expires (LOCK_TTL), then leads itself: well before its
    // coalesceTimeout (60 s, coalesce-child.js) would have it run the handler anyway.
    const reply = await waiting;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).url).toBe(p);
    expect(Date.now() - started).toBeLessThan(LOCK_TTL + 20000);
    expect(JSON.parse((await get(other.port, '/calls')).text)[p]).toBe(1);
  }, 60000); // two processes to start, the lock to expire, the bound above
});

describe('cache.wrap(key, fn)', () => {
  it('runs fn once for 100 concurrent callers and gives all of them its value', async () => {
    let runs = 0;
    const fn = async () => { runs++; await new Promise((r) => setTimeout(r, 30)); return { id: 7, tags: ['a'] }; };
    const values = await Promise.all(Array.from({ length: 100 }, () => cache.wrap('user:7', fn, { ttl: 60 })));
    expect(runs).toBe(1);
    expect(values.every((v) => v.id === 7 && v.tags[0] === 'a')).toBe(true);
    expect(await cache.get('user:7')).toEqual({ id: 7, tags: ['a'] });
    expect(await cache.wrap('user:7', fn)).toEqual({ id: 7, tags: ['a'] });
    expect(runs).toBe(1);
  });

  it('hands a rejection to every concurrent caller and does not store it', async () => {
    let runs = 0;
    const fault = new Error('backend down');
    const fn = async () => { runs++; await new Promise((r) => setTimeout(r, 20)); throw fault; };
    const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => cache.wrap('broken', fn)));
    expect(runs).toBe(1);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason === fault)).toBe(true);
    expect(await cache.get('broken')).toBeUndefined();
    await expect(cache.wrap('broken', async () => 'recovered')).resolves.toBe('recovered');
  });

  it.each([
    ['a Buffer', Buffer.from([0, 255, 1, 254])],
    ['a string', 'plain ✓ text'],
    ['a number', 42],
    ['an array', [1, 'two', { three: 3 }]],
    ['null', null],
  ])('stores %s faithfully', async (_what, value) => {
    await cache.set('v', value, { ttl: 5 });
    const back = await cache.get('v');
    expect(back).toEqual(value);
    expect(Buffer.isBuffer(back)).toBe(Buffer.isBuffer(value));
  });

  it('refuses a key with a lone surrogate, which would share its bytes with other keys', async () => {
    await expect(cache.set('k\uD800', 1)).rejects.toThrow(/well-formed string key/);
    await expect(cache.get('k\uDC00')).rejects.toThrow(/well-formed string key/);
    await expect(cache.delete('k\uD801')).rejects.toThrow(/well-formed string key/);
    expect(() => cache.wrap('k\uD800', () => 1)).toThrow(/well-formed string key/);
  });

  it('refuses a value JSON cannot represent', async () => {
    await expect(cache.set('f', () => 1)).rejects.toThrow(TypeError);
  });

  it('keeps values apart from HTTP entries under the same key', async () => {
    await cache.set('same', 'value');
    const entries = await redis.keys('respcache:*');
    expect(entries).toEqual([redisName('v:same')]);
  });

  it('runs fn once across processes sharing Redis', async () => {
    const { cache: second } = await openCache({ redis: redis.url, commandTimeout: 1000 });
    await Promise.all([busReady(cache), busReady(second)]);
    let runs = 0;
    const fn = async () => { runs++; await new Promise((r) => setTimeout(r, 50)); return 'shared'; };
    const values = await Promise.all([
      ...Array.from({ length: 10 }, () => cache.wrap('cross', fn)),
      ...Array.from({ length: 10 }, () => second.wrap('cross', fn)),
    ]);
    expect(values.every((v) => v === 'shared')).toBe(true);
    expect(runs).toBe(1);
  });
});

describe('coalescing options', () => {
  it.each([
    ['coalesce', { coalesce: 'yes' }],
    ['coalesceTimeout', { coalesceTimeout: 0 }],
    ['lockTtl', { lockTtl: 'long' }],
  ])('rejects an invalid "%s"', (name, options) => {
    expect(() => cache.middleware(options)).toThrow(expect.objectContaining({ message: expect.stringContaining(name) }));
  });
});
