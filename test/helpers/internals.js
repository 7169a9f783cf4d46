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
  return cache.coalescer().subscriberReady;
}

/**
 * Runs one sweep of the invalidation indexes now (deletes the indexes whose members have all
 * expired) instead of waiting for the periodic one.
 * @param {import('../../lib').Cache} cache
 * @returns {Promise<number>} the number of indexes deleted
 */
function sweep(cache) {
  return cache._invalidator.sweep();
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
  return timeoutMs === undefined ? cache._client.command(argv) : cache._client.command(argv, timeoutMs);
}

/**
 * Empties the cache's in-process tier (the near cache's local copies) without touching Redis.
 * @param {import('../../lib').Cache} cache
 * @returns {Promise<void>|void}
 */
function clearLocal(cache) {
  return cache._local.clear();
}

/**
 * Reads the entry stored under a key (the key a keyBuilder returns) as the middleware would:
 * the decoded entry, or null on a miss.
 * @param {import('../../lib').Cache} cache
 * @param {string} key
 * @returns {Promise<object|null>}
 */
function lookup(cache, key) {
  return cache.lookup(key);
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
  return cache.store(key, encoded, ttlMs, fill);
}

/**
 * How many requests of this process are leading a fill now, and how many keys have a flight
 * (leader plus waiters) in the in-process single-flight table.
 * @param {import('../../lib').Cache} cache
 * @returns {{ leading: number, flights: number }}
 */
function inFlight(cache) {
  const coalescer = cache.coalescer();
  return { leading: coalescer.leading.size, flights: coalescer.flights.size };
}

/**
 * Calls listener(key) each time a request joins another request's flight as a waiter.
 * @param {import('../../lib').Cache} cache
 * @param {(key: string) => void} listener
 */
function onFlightJoin(cache, listener) {
  const flights = cache.coalescer().flights;
  const join = flights.join.bind(flights);
  Object.defineProperty(flights, 'join', {
    configurable: true,
    value: (key, timeout) => {
      const wait = join(key, timeout);
      if (wait !== null) listener(key);
      return wait;
    },
  });
}

module.exports = { busReady, sweep, rawCommand, clearLocal, lookup, storeEntry, inFlight, onFlightJoin };
