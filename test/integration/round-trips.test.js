'use strict';

// What a request sends to Redis before its handler starts, and how many round trips that takes
// (issue 11: at most one for a cold MISS in the common case). Commands are seen with MONITOR:
// every command Redis executes, in execution order; the test marks the start and the handler's
// start with ECHO commands of its own, and lists the cache's commands in between (pub/sub
// housekeeping excluded). Round trips are also counted through a TCP proxy that holds every
// chunk for DELAY_MS each way: a round trip then takes at least 2 * DELAY_MS, and the proxy's log
// of chunks in the order they reached it says how many times the traffic turned around.
const net = require('net');
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches } = require('../helpers/cache');
const { familyPattern } = require('../helpers/layout');
const { monitor: startMonitor } = require('../helpers/monitor');
const { waitFor } = require('../helpers/wait');

let redis;
let cache;
let monitor;
let marker;
let http;
const seen = [];
const waiters = new Map();

const HOUSEKEEPING = new Set(['ping', 'subscribe', 'psubscribe', 'echo', 'client', 'config', 'info', 'monitor']);

beforeAll(async () => {
  redis = await startRedis();
  ({ cache } = await openCache({ redis: redis.url, commandTimeout: 1000 }));
  marker = redis.client();
  monitor = await startMonitor(redis);
  monitor.on('monitor', (time, args, source) => {
    if (source === 'lua') return; // run by a script: part of the command that ran the script
    const name = String(args[0]).toLowerCase();
    if (name === 'echo') {
      const resolve = waiters.get(String(args[1]));
      if (resolve) resolve(seen.length);
    }
    seen.push({ name, args: args.map(String) });
  });
});

afterAll(async () => {
  if (monitor) monitor.disconnect();
  await closeCaches();
  if (redis) await redis.close();
});

afterEach(async () => {
  if (http) await http.close();
  http = null;
});

/** Sends ECHO text and resolves with the index MONITOR saw it at. */
async function mark(text) {
  const at = new Promise((resolve) => waiters.set(text, resolve));
  await marker.echo(text);
  return at;
}

/** The cache's commands between two marks. */
function between(from, to) {
  return seen.slice(from, to).filter((c) => !HOUSEKEEPING.has(c.name));
}

let markSeq = 0;

/** Serves a route and answers one GET; resolves with the commands sent before the handler ran. */
async function commandsBeforeHandler(options, path = '/r', prepare = async () => {}) {
  let handlerAt = null;
  const app = express();
  app.get(path, cache.middleware(options), async (req, res) => {
    handlerAt = await mark(`handler-${++markSeq}`);
    res.send('body');
  });
  http = await serve(app);
  await prepare();
  const start = await mark(`start-${++markSeq}`);
  const response = await http.get(path);
  const end = await mark(`end-${++markSeq}`);
  return { response, before: handlerAt === null ? null : between(start + 1, handlerAt), all: between(start + 1, end) };
}

describe('a cold MISS', () => {
  beforeEach(() => redis.client().flushall());

  it('sends the GET and the lookup script before the handler runs on a coalescing route with the built-in key', async () => {
    const { response, before } = await commandsBeforeHandler({ ttl: 60 });
    expect(response.headers['x-cache']).toBe('MISS');
    // The entry's GET, and beside it one script: the route's vary record and the fill lock.
    expect(before.map((c) => c.name)).toEqual(['get', 'evalsha']);
  });

  it('sends the GET and the lookup script before the handler runs on a route with a keyBuilder', async () => {
    const { before } = await commandsBeforeHandler({ ttl: 60, keyBuilder: () => 'rt:kb' }, '/kb');
    expect(before.map((c) => c.name)).toEqual(['get', 'evalsha']);
  });

  it('sends the GET and the lookup script before the handler runs on a namespaced route', async () => {
    const { before } = await commandsBeforeHandler({ ttl: 60, namespace: 'rt' }, '/ns');
    expect(before.map((c) => c.name)).toEqual(['get', 'evalsha']);
  });

  it('sends the GET and the lookup script before the handler runs without coalescing', async () => {
    const { before } = await commandsBeforeHandler({ ttl: 60, coalesce: false }, '/nc');
    expect(before.map((c) => c.name)).toEqual(['get', 'evalsha']);
  });

  it('sends the whole script again after Redis lost it (SCRIPT FLUSH), and still answers', async () => {
    const { response, before } = await commandsBeforeHandler({ ttl: 60 }, '/flushed', () => redis.client().script('FLUSH'));
    expect(response.headers['x-cache']).toBe('MISS');
    expect(before.map((c) => c.name)).toEqual(['get', 'evalsha', 'eval']);
  });

  it('then stores the entry and releases the lock it took with the lookup', async () => {
    const { all } = await commandsBeforeHandler({ ttl: 60 }, '/stored');
    const names = all.map((c) => c.name);
    expect(names.slice(0, 2)).toEqual(['get', 'evalsha']);
    expect(names).toContain('eval'); // the store script, then the lock's compare-and-delete
    expect(await redis.keys(familyPattern('l:*'))).toEqual([]);
    expect(await redis.keys(familyPattern('e:*'))).toHaveLength(1);
  });
});

describe('a HIT', () => {
  beforeAll(() => redis.client().flushall());

  it('of a key this process stored or read lately sends the GET alone, and takes no lock', async () => {
    const app = express();
    let calls = 0;
    app.get('/hit', cache.middleware({ ttl: 60 }), (req, res) => { calls++; res.send('body'); });
    http = await serve(app);
    await http.get('/hit');
    const start = await mark(`start-${++markSeq}`);
    const hit = await http.get('/hit');
    const end = await mark(`end-${++markSeq}`);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(calls).toBe(1);
    expect(between(start + 1, end).map((c) => c.name)).toEqual(['get']);
    expect(await redis.keys(familyPattern('l:*'))).toEqual([]);
  });
});

describe('a MISS of a key this process held, after another process invalidated it', () => {
  beforeAll(() => redis.client().flushall());

  it('finds no entry with the GET, then makes the full lookup', async () => {
    const app = express();
    let calls = 0;
    app.get('/gone', cache.middleware({ ttl: 60 }), (req, res) => { calls++; res.send(`body ${calls}`); });
    http = await serve(app);
    await http.get('/gone');
    await redis.client().eval("for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end", 0, familyPattern('e:*'));
    const start = await mark(`start-${++markSeq}`);
    const miss = await http.get('/gone');
    const end = await mark(`end-${++markSeq}`);
    expect([miss.headers['x-cache'], miss.text]).toEqual(['MISS', 'body 2']);
    expect(between(start + 1, end).map((c) => c.name).slice(0, 3)).toEqual(['get', 'get', 'evalsha']);
  });
});

describe('a MISS on a route that learnt it varies, in another process', () => {
  beforeAll(() => redis.client().flushall());

  it('reads the record with the lookup and looks the varied key up in a second round trip', async () => {
    // A first route instance learns "Vary: X-Lang" and writes the record; a second instance (a
    // fresh middleware, as in another process) finds it with its first lookup.
    const handler = (req, res) => { res.set('Vary', 'X-Lang'); res.send(`lang ${req.get('x-lang')}`); };
    const first = express();
    first.get('/v', cache.middleware({ ttl: 60 }), handler);
    const one = await serve(first);
    // One Host for both servers: the built-in key includes it.
    await one.get('/v', { headers: { 'x-lang': 'en', host: 'app.test' } });
    await one.close();
    let handlerAt = null;
    const second = express();
    second.get('/v', cache.middleware({ ttl: 60 }), async (req, res) => {
      handlerAt = await mark(`handler-${++markSeq}`);
      handler(req, res);
    });
    http = await serve(second);
    const start = await mark(`start-${++markSeq}`);
    const miss = await http.get('/v', { headers: { 'x-lang': 'fr', host: 'app.test' } });
    expect(miss.text).toBe('lang fr');
    expect(between(start + 1, handlerAt).map((c) => c.name)).toEqual(['get', 'evalsha', 'get', 'evalsha']);
  });
});

describe('round trips, counted through a proxy that delays every chunk', () => {
  // The delay keeps the commands a request sends together in one burst, however far apart in
  // a turn (or two) the client writes them: a reply cannot come back in between.
  const DELAY_MS = 150;
  let proxy;
  let slow;
  let app;
  let server;
  let handlerStartedAt;
  let handlerSawChunks;
  // Every chunk the proxy received, in order: 'request' (client to Redis) or 'reply'.
  const chunks = [];

  /**
   * The turns of the traffic in chunks[from, to): 'request' and 'reply' phases, each a run of
   * chunks in one direction. Replies before the first request answer earlier commands.
   */
  function phases(from, to) {
    const seen = chunks.slice(from, to);
    const first = seen.indexOf('request');
    return first < 0 ? [] : seen.slice(first).filter((dir, i, all) => i === 0 || dir !== all[i - 1]);
  }

  /**
   * Resolves once earlier requests sent everything they will (the fill's store, its notice and
   * the lock's release go after the response): the release is the last, and only then is the
   * lock gone. What they still receive is replies, which come before this request's first chunk
   * or join its reply phase.
   */
  function quiet() {
    return waitFor(async () => (await redis.keys(familyPattern('l:*'))).length === 0, { what: 'the fill lock released', timeout: 10000 });
  }

  beforeAll(async () => {
    proxy = net.createServer((client) => {
      const upstream = net.connect(redis.port, '127.0.0.1');
      const hold = (from, to, dir) => from.on('data', (chunk) => {
        chunks.push(dir);
        setTimeout(() => to.write(chunk), DELAY_MS);
      });
      hold(client, upstream, 'request');
      hold(upstream, client, 'reply');
      const end = () => { client.destroy(); upstream.destroy(); };
      client.on('close', end);
      upstream.on('close', end);
      client.on('error', end);
      upstream.on('error', end);
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    ({ cache: slow } = await openCache({ redis: `redis://127.0.0.1:${proxy.address().port}`, commandTimeout: 5000, connectTimeout: 5000 }));
    app = express();
    app.get('/timed', slow.middleware({ ttl: 60 }), (req, res) => {
      handlerStartedAt = performance.now();
      handlerSawChunks = chunks.length;
      res.send('timed');
    });
    app.get('/warm', slow.middleware({ ttl: 60 }), (req, res) => res.send('warm'));
    server = await serve(app);
    // The connection's own commands after 'ready' (script load, policy check) are answered
    // before this request's lookup (one connection, in order); its fill releases the lock last.
    await server.get('/warm');
    await quiet();
  });

  afterAll(async () => {
    if (server) await server.close();
    if (slow) await slow.close();
    if (proxy) await new Promise((resolve) => proxy.close(resolve));
  });

  it('a cold MISS starts its handler after one round trip', async () => {
    await quiet();
    await redis.client().flushall();
    const from = chunks.length;
    const sent = performance.now();
    const miss = await server.get('/timed');
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(handlerStartedAt - sent).toBeGreaterThanOrEqual(2 * DELAY_MS - 5); // it did ask Redis
    // and only once: its commands went out together, and none after a reply came back.
    expect(phases(from, handlerSawChunks)).toEqual(['request', 'reply']);
  });

  it('a HIT is answered after one round trip', async () => {
    await server.get('/timed');
    await quiet();
    const from = chunks.length;
    const sent = performance.now();
    const hit = await server.get('/timed');
    const took = performance.now() - sent;
    const to = chunks.length;
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(took).toBeGreaterThanOrEqual(2 * DELAY_MS - 5);
    expect(phases(from, to)).toEqual(['request', 'reply']);
  });
});
