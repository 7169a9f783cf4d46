'use strict';

// The stored-entry format through the cache: entries of the earlier format ("RCE1", with the
// cache's metadata in pseudo-headers) read as a MISS without being reported as damage, and each
// family only takes records of its own kind (a value planted under an entry's name is no response).
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, entryKey } = require('../helpers/cache');
const { rawCommand } = require('../helpers/internals');
const binding = require('../../lib/binding');
const { redisName } = require('../helpers/layout');

let redis;
let cache;
let http;
let calls;
const errors = [];

beforeAll(async () => {
  redis = await startRedis();
  ({ cache } = await openCache({ redis: redis.url, commandTimeout: 1000 }));
  cache.on('error', (err) => errors.push(err));
  const app = express();
  app.get('/r', cache.middleware({ ttl: 60, exposeKey: true }), (req, res) => {
    calls++;
    res.type('text').send(`fresh ${calls}`);
  });
  app.get('/ns', cache.middleware({ ttl: 60, exposeKey: true, namespace: 'fmt' }), (req, res) => {
    calls++;
    res.type('text').send(`fresh ${calls}`);
  });
  http = await serve(app);
});

afterAll(async () => {
  if (http) await http.close();
  await closeCaches();
  if (redis) await redis.close();
});

beforeEach(async () => {
  await redis.client().flushall();
  calls = 0;
  errors.length = 0;
});

/** An entry as the earlier release wrote it: "RCE1", the namespace version as a first header. */
function rce1(status, headers, body, storedAt, expiresAt) {
  const parts = [Buffer.from('RCE1'), Buffer.from([0])];
  const fixed = Buffer.alloc(2 + 8 + 8 + 2);
  fixed.writeUInt16BE(status, 0);
  fixed.writeBigInt64BE(BigInt(storedAt), 2);
  fixed.writeBigInt64BE(BigInt(expiresAt), 10);
  fixed.writeUInt16BE(headers.length / 2, 18);
  parts.push(fixed);
  for (let i = 0; i < headers.length; i += 2) {
    const name = Buffer.from(headers[i]);
    const value = Buffer.from(headers[i + 1]);
    const lengths = Buffer.alloc(6);
    lengths.writeUInt16BE(name.length, 0);
    lengths.writeUInt32BE(value.length, 2);
    parts.push(lengths.subarray(0, 2), name, lengths.subarray(2), value);
  }
  const bodyLength = Buffer.alloc(4);
  bodyLength.writeUInt32BE(body.length, 0);
  parts.push(bodyLength, body);
  return Buffer.concat(parts);
}

/** The key a route answers under, learnt from its MISS; the entry is then deleted. */
async function keyOf(path) {
  const miss = await http.get(path);
  const key = entryKey(miss.headers['x-cache-key']);
  await redis.client().del(key);
  calls = 0;
  return key;
}

describe('an entry of the earlier format', () => {
  it('decodes as "outdated"', () => {
    const now = Date.now();
    expect(binding.decodeEntry(rce1(200, ['content-type', 'text/plain'], Buffer.from('old'), now, now + 60000)))
      .toBe('outdated');
  });

  it('is a MISS, not reported as damage, and the next store replaces it', async () => {
    const key = await keyOf('/r');
    const now = Date.now();
    await redis.client().set(key, rce1(200, ['content-type', 'text/plain'], Buffer.from('old body'), now, now + 60000));
    const miss = await http.get('/r');
    expect([miss.headers['x-cache'], miss.text]).toEqual(['MISS', 'fresh 1']);
    expect(errors).toEqual([]);
    const hit = await http.get('/r');
    expect([hit.headers['x-cache'], hit.text]).toEqual(['HIT', 'fresh 1']);
    expect(binding.decodeEntry(await redis.client().getBuffer(key)).status).toBe(200);
  });

  it('of a namespaced route is a MISS too', async () => {
    const key = await keyOf('/ns');
    const now = Date.now();
    await redis.client().set(key, rce1(200, ['x-respcache-ns', '0', 'content-type', 'text/plain'], Buffer.from('old'), now, now + 60000));
    const miss = await http.get('/ns');
    expect([miss.headers['x-cache'], miss.text]).toEqual(['MISS', 'fresh 1']);
    expect(errors).toEqual([]);
  });
});

describe('a record of another kind under an entry name', () => {
  it('is not served: a cache-aside value planted there is a MISS, deleted and reported', async () => {
    const key = await keyOf('/r');
    const now = Date.now();
    await redis.client().set(key, binding.encodeEntry(200, [], Buffer.from('"a value"'), now, now + 60000,
      { kind: 'value', valueType: 'json' }));
    const miss = await http.get('/r');
    expect([miss.headers['x-cache'], miss.text]).toEqual(['MISS', 'fresh 1']);
    expect(errors.map((e) => e.code)).toEqual(['ERR_RESPCACHE_CORRUPT_ENTRY']);
  });

  it('is not a value: a response entry under a value name reads as undefined', async () => {
    const now = Date.now();
    await redis.client().set(redisName('v:planted'), binding.encodeEntry(200, ['content-type', 'text/plain'],
      Buffer.from('"json-looking"'), now, now + 60000));
    await expect(cache.get('planted')).resolves.toBeUndefined();
    // Deleted (its report may be held back: corrupt entries are reported once a second). Asked on
    // the cache's own connection, so after the DEL it sent.
    expect(await rawCommand(cache, ['EXISTS', redisName('v:planted')])).toBe(0);
  });

  it('keeps what the cache stores in the metadata, not in headers a client could see', async () => {
    await cache.set('typed', { a: 1 });
    const stored = binding.decodeEntry(await redis.client().getBuffer(redisName('v:typed')));
    expect(stored.headers).toEqual([]);
    expect(stored.meta).toMatchObject({ kind: 'value', valueType: 'json' });
    const miss = await http.get('/ns');
    expect(Object.keys(miss.headers).filter((h) => h.startsWith('x-respcache'))).toEqual([]);
    const entry = binding.decodeEntry(await redis.client().getBuffer(entryKey(miss.headers['x-cache-key'])));
    expect(entry.meta.ns).toBe('0');
    expect(entry.headers.some((h) => h.startsWith('x-respcache'))).toBe(false);
  });
});
