'use strict';

// Small shared pieces for tests of the public API: opening a cache and waiting for it, waiting on
// events with a deadline, bounded polling where no event exists, and entry-key arithmetic.
const respcache = require('../../lib');

const opened = new Set();

/**
 * Resolves with the first `event` emitted by `emitter`, rejects after `timeoutMs`.
 * @returns {Promise<any[]>} the event's arguments
 */
function once(emitter, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, onEvent);
      reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    function onEvent(...args) {
      clearTimeout(timer);
      resolve(args);
    }
    emitter.once(event, onEvent);
  });
}

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

/**
 * Polls `probe` until it returns a truthy value or the deadline passes (for states that announce
 * themselves with no event, such as a key appearing in Redis through another connection).
 */
async function waitFor(probe, { timeout = 3000, interval = 10, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeout} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** The Redis key under which the cache stores the entry for `key`. */
function entryKey(key, cachePrefix = 'respcache') {
  return `${cachePrefix}:e:${key}`;
}

/** Lets pending microtasks, nextTicks and one turn of I/O callbacks run. */
function tick() {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise the test resolves, for handlers that must wait: { promise, open }. */
function gate() {
  let open;
  const promise = new Promise((resolve) => { open = resolve; });
  return { promise, open };
}

module.exports = { respcache, once, openCache, closeCaches, waitFor, entryKey,
  tick, gate };
