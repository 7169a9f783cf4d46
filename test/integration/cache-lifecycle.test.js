'use strict';

// cache.delete(key), cache.close() letting a process exit on its own at each lifecycle stage,
// and cacheResponse() with the shared default cache.
const path = require('path');
const { spawn } = require('child_process');
const express = require('express');
const { startRedis, freePort } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, entryKey } = require('../helpers/cache');
const { familyPattern } = require('../helpers/layout');

const CHILD = path.join(__dirname, '..', 'helpers', 'child-app.js');
// A child still running by then does not exit on its own (the hang these tests look for never
// ends). Far beyond a child's whole life (node under the sanitizer, connect, serve, exit) on a
// loaded machine; the tests that run a child get a Jest timeout above it, so that the kill reports.
const EXIT_DEADLINE_MS = 30000;
const CHILD_TEST_MS = EXIT_DEADLINE_MS + 15000;

let redis;

beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});
beforeEach(async () => { await redis.client().flushall(); });

/**
 * Runs the child script and resolves with { code, signal, report, stderr, ms }. A child still
 * running after the deadline is killed and reported with timedOut: true.
 */
function runChild(stage, url, env = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CHILD, stage, url], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, EXIT_DEADLINE_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      let report = null;
      try { report = JSON.parse(stdout.trim().split('\n').pop()); } catch { /* left null */ }
      resolve({ code, signal, timedOut, report, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function expectCleanExit(result) {
  expect({ timedOut: result.timedOut, code: result.code, signal: result.signal, stderr: result.stderr })
    .toEqual({ timedOut: false, code: 0, signal: null, stderr: '' });
}

describe('cache.delete(key)', () => {
  let http;
  let calls;
  let cache;

  beforeEach(async () => {
    calls = 0;
    ({ cache } = await openCache({ redis: redis.url, commandTimeout: 1000 }));
    const app = express();
    app.get('/users/:id', cache.middleware({ keyBuilder: (req, prefix) => `${prefix}:user:${req.params.id}` }),
      (req, res) => { calls++; res.json({ id: req.params.id, n: calls }); });
    app.get('/default', cache.middleware({ exposeKey: true }), (req, res) => { calls++; res.send(`default ${calls}`); });
    http = await serve(app);
  });

  afterEach(async () => {
    await http.close();
    await closeCaches();
  });

  it('removes the entry stored under a builder key, so the next request is a MISS', async () => {
    await http.get('/users/1');
    expect((await http.get('/users/1')).headers['x-cache']).toBe('HIT');
    await cache.delete('respcache:user:1');
    expect(await redis.client().exists(entryKey('respcache:user:1'))).toBe(0);
    const after = await http.get('/users/1');
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.text).toBe('{"id":"1","n":2}');
    expect(calls).toBe(2);
  });

  it('removes the entry stored under a default key', async () => {
    const first = await http.get('/default');
    const key = first.headers['x-cache-key'];
    expect((await http.get('/default')).headers['x-cache']).toBe('HIT');
    await cache.delete(key);
    const after = await http.get('/default');
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.text).toBe('default 2');
  });

  it('leaves other entries alone', async () => {
    await http.get('/users/1');
    await http.get('/users/2');
    await cache.delete('respcache:user:1');
    expect((await http.get('/users/2')).headers['x-cache']).toBe('HIT');
    expect((await http.get('/users/1')).headers['x-cache']).toBe('MISS');
  });

  it('resolves for a key that has no entry', async () => {
    await expect(cache.delete('respcache:user:nobody')).resolves.not.toThrow();
  });

  it('does not touch a Redis key that merely equals the given string', async () => {
    await redis.client().set('respcache:user:1', 'not ours');
    await http.get('/users/1');
    await cache.delete('respcache:user:1');
    expect(await redis.client().get('respcache:user:1')).toBe('not ours');
  });
});

describe('cache.close()', () => {
  it('lets a process exit on its own right after createCache', async () => {
    expectCleanExit(await runChild('immediately', redis.url));
  }, CHILD_TEST_MS);

  it('lets a process exit on its own once connected', async () => {
    expectCleanExit(await runChild('after-ready', redis.url));
  }, CHILD_TEST_MS);

  it('lets a process exit on its own after serving a MISS and a HIT', async () => {
    const result = await runChild('after-requests', redis.url);
    expectCleanExit(result);
    expect(result.report.replies).toEqual([
      { status: 200, xCache: 'MISS', body: 'child body' },
      { status: 200, xCache: 'HIT', body: 'child body' },
    ]);
    expect(result.report.errors).toEqual([]);
  }, CHILD_TEST_MS);

  it('lets a process exit on its own when closed with a lookup in flight, and the request is answered', async () => {
    const result = await runChild('in-flight', redis.url);
    expectCleanExit(result);
    expect(result.report.replies).toHaveLength(1);
    expect(result.report.replies[0]).toMatchObject({ status: 200, body: 'child body' });
  }, CHILD_TEST_MS);

  it('lets a process exit on its own when Redis was never reachable', async () => {
    const result = await runChild('redis-down', `redis://127.0.0.1:${await freePort()}`);
    expectCleanExit(result);
    expect(result.report.replies).toEqual([
      { status: 200, xCache: 'BYPASS', body: 'child body' },
      { status: 200, xCache: 'BYPASS', body: 'child body' },
    ]);
    expect(result.report.errors.length).toBeGreaterThan(0);
  }, CHILD_TEST_MS);

  describe('when nobody listens for "error"', () => {
    it('still serves requests with Redis unreachable and exits cleanly', async () => {
      const result = await runChild('no-listener', `redis://127.0.0.1:${await freePort()}`);
      expectCleanExit(result);
      expect(result.report.replies.map((r) => r.status)).toEqual([200, 200]);
    }, CHILD_TEST_MS);
  });

  it("emits 'end' once its Redis connection is gone, and status is 'closed'", async () => {
    const { cache } = await openCache({ redis: redis.url });
    let ends = 0;
    cache.on('end', () => { ends++; });
    const ended = new Promise((resolve) => cache.once('end', resolve));
    await cache.close();
    await ended;
    expect(ends).toBe(1);
    expect(cache.status).toBe('closed');
  });

  it('rejects or ignores later use without crashing: delete after close', async () => {
    const { cache } = await openCache({ redis: redis.url });
    await cache.close();
    let outcome;
    try {
      await cache.delete('x');
      outcome = 'resolved';
    } catch (err) {
      outcome = err.code || err.name;
    }
    expect(outcome).toMatch(/^(resolved|ERR_RESPCACHE_\w+)$/);
  });
});

describe('cacheResponse(options)', () => {
  it('caches through a shared default cache connected to REDIS_URL', async () => {
    const result = await runChild('cache-response', '', { REDIS_URL: redis.url });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const { replies, invalid } = result.report;
    expect(['TypeError', 'RangeError']).toContain(invalid.name);
    expect(invalid.message).toContain('ttl');
    const real = replies.filter((r) => r.xCache !== 'BYPASS');
    // The shared cache has the default 100 ms commandTimeout, which a loaded machine's stall of
    // the child can exceed: a store that timed out leaves the next request a MISS again. Then
    // the HIT, which ends the child's loop.
    expect(real.map((r) => r.xCache).join(' ')).toMatch(/^(MISS )+HIT$/);
    expect(real.every((r) => r.status === 200 && r.body === 'shared default cache')).toBe(true);
    expect(real[0].key).toMatch(/^respcache:[0-9a-f]{64}$/);
    expect(await redis.keys(familyPattern('e:*'))).toEqual([entryKey(real[0].key)]);
  }, CHILD_TEST_MS);
});
