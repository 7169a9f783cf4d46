'use strict';

// Small shared pieces for tests of the public API: opening a cache and waiting for it, and
// entry-key arithmetic. The waiting pieces (once, waitFor, tick, gate) are in ./wait.js and
// re-exported here.
const respcache = require('../../lib');
const { once, waitFor, tick, gate } = require('./wait');
const { redisName } = require('./layout');

const opened = new Set();

/**
 * Creates a cache, records its 'error' events in `errors`, and (unless `waitReady` is false)
 * waits for its 'ready' event.
 * @returns {Promise<{ cache: any, errors: Error[] }>}
 */
async function openCache(options, { waitReady = true, readyTimeout = 5000 } = {}) {
  const cache = respcache.createCache(options);
  const errors = [];
  cache.on('error', (err) => errors.push(err));
  opened.add(cache);
  if (waitReady) await once(cache, 'ready', readyTimeout);
  return { cache, errors };
}

/** Closes every cache opened through openCache (call from afterAll / afterEach). */
async function closeCaches() {
  const caches = [...opened];
  opened.clear();
  await Promise.all(caches.map((c) => Promise.resolve().then(() => c.close()).catch(() => {})));
}

/** The Redis key under which the cache stores the entry for `key` (one Redis: one bucket). */
function entryKey(key, cachePrefix = 'respcache') {
  return redisName(`e:${key}`, cachePrefix);
}

module.exports = { respcache, once, openCache, closeCaches, waitFor, entryKey,
  tick, gate };
