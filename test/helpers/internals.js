'use strict';

// The only place tests and benchmarks reach into a cache's internals. Everything else goes
// through the public API; when the internals move (issue 11: a store contract, one event bus, one
// in-flight table), this file is the one to edit. Each function says what it stands for, so its
// new body can be written from that sentence alone.

/**
 * Resolves once the cache's subscriber connection is subscribed to its invalidation and event
 * channels, so that a publish made afterwards reaches this cache.
 * @param {import('../../lib').Cache} cache
 * @returns {Promise<void>}
 */
function busReady(cache) {
  return cache._store.busReady;
}

/**
 * Runs one sweep of the invalidation indexes now (deletes the indexes whose members have all
 * expired) instead of waiting for the periodic one.
 * @param {import('../../lib').Cache} cache
 * @returns {Promise<number>} the number of indexes deleted
 */
function sweep(cache) {
  return cache._store.sweep();
}

/**
 * Sends one command on the cache's own Redis command connection (not a separate client), e.g. to
 * learn its CLIENT ID or to order a command after the cache's earlier ones.
 * @param {import('../../lib').Cache} cache
 * @param {Array<string|Buffer>} argv
 * @param {number} [timeoutMs] per-command timeout; the cache's commandTimeout when omitted
 * @returns {Promise<*>} the reply
 */
function rawCommand(cache, argv, timeoutMs) {
  const store = cache._store.shared || cache._store;
  return timeoutMs === undefined ? store.client.command(argv) : store.client.command(argv, timeoutMs);
}

/**
 * Empties the cache's in-process tier (the near cache's local copies) without touching Redis.
 * @param {import('../../lib').Cache} cache
 * @returns {Promise<void>|void}
 */
function clearLocal(cache) {
  return cache._store.local.clear();
}

/**
 * Reads the entry stored under a key (the key a keyBuilder returns) as the middleware would:
 * the decoded entry, or null on a miss.
 * @param {import('../../lib').Cache} cache
 * @param {string} key
 * @returns {Promise<object|null>}
 */
function lookup(cache, key) {
  return cache._store.getEntry(key, null);
}

/**
 * Stores an encoded entry under a key through the cache's own store path (indexes included).
 * @param {import('../../lib').Cache} cache
 * @param {string} key the key a keyBuilder returns
 * @param {Buffer} encoded binding.encodeEntry(...)
 * @param {number} ttlMs
 * @param {{ path?: string, tags?: string[], startedAt: number }} fill the fill's path, tags and
 *   start time (performance.now()) for the invalidation fences
 * @returns {Promise<boolean>} whether it was stored
 */
function storeEntry(cache, key, encoded, ttlMs, fill) {
  const { storeEntry: store } = require('../../lib/middleware/fill');
  return store({ store: cache._store, reporter: cache._reporter }, key, encoded, ttlMs, fill);
}

/**
 * How many requests of this process are leading a fill now, and how many keys have a flight
 * (leader plus waiters) in the in-process single-flight table.
 * @param {import('../../lib').Cache} cache
 * @returns {{ leading: number, flights: number }}
 */
function inFlight(cache) {
  const inflight = cache._inflight;
  let leading = 0;
  for (const name of inflight.table.keys()) if (name.startsWith('e:')) leading++;
  return { leading, flights: inflight.flights === null ? 0 : inflight.flights.size };
}

/**
 * Calls listener(key) each time a request joins another request's flight as a waiter.
 * @param {import('../../lib').Cache} cache
 * @param {(key: string) => void} listener
 */
function onFlightJoin(cache, listener) {
  const inflight = cache._inflight;
  const join = inflight.join.bind(inflight);
  Object.defineProperty(inflight, 'join', {
    configurable: true,
    value: (key, timeout) => {
      const wait = join(key, timeout);
      if (wait !== null) listener(key);
      return wait;
    },
  });
}

/**
 * Has every wait for another process's fill of this cache (the bus's waitForFill) call
 * wrap(name, next, ms) instead of next(ms), next being the wait's own.
 */
function wrapFillWaits(cache, wrap) {
  const bus = (cache._store.shared || cache._store).bus();
  const waitForFill = bus.waitForFill.bind(bus);
  Object.defineProperty(bus, 'waitForFill', {
    configurable: true,
    value: (name) => {
      const wait = waitForFill(name);
      const next = wait.next.bind(wait);
      wait.next = (ms) => wrap(name, next, ms);
      return wait;
    },
  });
}

/**
 * Calls listener(name) each time a request of this cache finds the fill lock of `name`
 * ('e:<key>') held by another process and starts waiting for that process's fill: once per wait,
 * however often it tries the lock again. From then on the fill's end reaches the request (its
 * notice is queued for it since before it tried the lock).
 * @param {import('../../lib').Cache} cache on a Redis store
 * @param {(name: string) => void} listener
 */
function onFillWait(cache, listener) {
  const told = new WeakSet();
  wrapFillWaits(cache, (name, next, ms) => {
    if (!told.has(next)) listener(name);
    told.add(next);
    return next(ms);
  });
}

/**
 * Calls listener(name, state) each time a request of this cache that waits for another fill of
 * `name` ('e:<key>') wakes up, with what woke it: 'ok' or 'fail' (the fill's notice), 'free' (its
 * lock was given back: try it again at once) or 'tick' (no notice within the poll interval: the
 * holder may have died).
 * @param {import('../../lib').Cache} cache on a Redis store
 * @param {(name: string, state: 'ok'|'fail'|'free'|'tick') => void} listener
 */
function onFillWake(cache, listener) {
  wrapFillWaits(cache, (name, next, ms) => next(ms).then((state) => {
    listener(name, state);
    return state;
  }));
}

/**
 * Calls listener(url, stored) each time the gateway engine (proxy.engine, cache.fetch's engine)
 * has finished writing a response to the store: a MISS's, or a stored one a 304 refreshed;
 * `stored` tells whether the store took it. The write follows the response's body: a client can
 * have the whole answer before it is stored.
 * @param {object} engine the engine (lib/gateway/engine.js) of a cache.proxy()
 * @param {(url: string, stored: boolean) => void} listener
 */
function onGatewayStore(engine, listener) {
  const entries = engine.entries;
  const put = entries.put.bind(entries);
  Object.defineProperty(entries, 'put', {
    configurable: true,
    value: async (request, ...rest) => {
      const result = await put(request, ...rest);
      listener(request.url, result.stored);
      return result;
    },
  });
}

// Stores (lib/stores/): what the shared store suite must see below the contract.

/**
 * The native in-process tier of a memory or near store (a binding.LocalStore: get/set/delete),
 * for planting bytes a store did not write and checking what it still holds.
 * @param {object} store a MemoryStore or NearStore
 * @returns {{ get(name: string): Buffer|null, set(name: string, bytes: Buffer, ttlMs: number): boolean, delete(name: string): boolean }}
 */
function localTier(store) {
  return store.local;
}

/**
 * How many entry keys an invalidation index of the in-process (memory) store lists, expired ones
 * included, or null when it has no such index.
 * @param {object} store a MemoryStore
 * @param {string} suffix 't:<tag>', 'p:<path>' or 's:<dir>/'
 * @returns {number|null}
 */
function memoryIndexSize(store, suffix) {
  const index = store.index.indexes.get(suffix);
  return index === undefined ? null : index.size;
}

/**
 * Entry bytes as a store keeps them, with the metadata the store reads: the kind of record (a
 * response under 'e:', a cache-aside value under 'v:', a vary record under 'vr:') and a namespaced
 * entry's version. Written for both places lib has kept them: pseudo-headers (while
 * lib/http/storability.js exports NS_HEADER) and the codec's typed metadata.
 * @param {{ status: number, headers: string[], body: Buffer, storedAt: number, expiresAt: number }} entry
 * @param {{ nsVersion?: string, kind?: 'response'|'value'|'vary' }} [meta]
 * @returns {Buffer}
 */
function encodeStored({ status, headers, body, storedAt, expiresAt }, { nsVersion, kind = 'response' } = {}) {
  const binding = require('../../lib/binding');
  const { NS_HEADER } = require('../../lib/http/storability');
  if (NS_HEADER !== undefined) {
    const all = nsVersion === undefined ? headers : [NS_HEADER, nsVersion, ...headers];
    return binding.encodeEntry(status, all, body, storedAt, expiresAt);
  }
  return binding.encodeEntry(status, headers, body, storedAt, expiresAt, { kind, ns: nsVersion });
}

module.exports = { busReady, sweep, rawCommand, clearLocal, lookup, storeEntry, inFlight, onFlightJoin,
  onFillWait, onFillWake, onGatewayStore, localTier, memoryIndexSize, encodeStored };
