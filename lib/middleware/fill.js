'use strict';

// What a fill (a handler run whose response may be stored) knows and does beyond its capture:
// its namespace and start time, the store write with its counting, and the lookup with its
// latency metric.
const debug = require('debug')('respcache');
const { checkNamespace } = require('../stores/contract');

// On a request: what storing its response needs besides its path: { ns, nsVersion, startedAt }.
const FILL = Symbol('respcache.fill');

/**
 * The fill context of a request: its namespace, and when its fill began (for the invalidation
 * fence). Throws when the route's namespace function fails.
 * @param {object} route
 * @param {object} req
 */
function fillContext(route, req) {
  let ns = null;
  if (route.namespace !== null) {
    ns = checkNamespace(typeof route.namespace === 'function' ? route.namespace(req) : route.namespace);
  }
  return { ns, nsVersion: null, startedAt: performance.now() };
}

/** A background refresh has no lookup of its own: its namespace version is the one last seen. */
function refreshFill(r, req) {
  try {
    const context = fillContext(r.route, req);
    if (context.ns !== null) context.nsVersion = r.store.namespaceVersion(context.ns);
    return context;
  } catch {
    return { ns: null, nsVersion: null, startedAt: performance.now() };
  }
}

/**
 * Looks `key` up in the store (sets fill.nsVersion for a namespaced route) with what `want` asks
 * besides (store.lookup: the vary record, the fill lock), observing the lookup latency when
 * metrics are on. Resolves { entry, record, token }.
 */
function lookupEntry(r, key, fill, want) {
  const metrics = r.reporter.metrics;
  if (metrics === null) return r.store.lookup(key, fill, want);
  const started = process.hrtime.bigint();
  return r.store.lookup(key, fill, want).then((found) => {
    const tier = found.entry !== null && found.entry.tier === 'local' ? 'local' : 'redis';
    metrics.lookupSeconds.observe({ tier }, Number(process.hrtime.bigint() - started) / 1e9);
    return found;
  });
}

/**
 * Stores an encoded entry with its invalidation indexes; the write is issued before this returns,
 * so a later lookup sees it. Resolves whether it was stored; never rejects (failures are counted
 * and reported).
 * @param {{ path: string | string[], tags: string[], startedAt: number }} fill
 * @returns {Promise<boolean>}
 */
function storeEntry(r, key, encoded, ttlMs, fill) {
  const reporter = r.reporter;
  const started = reporter.metrics === null ? 0n : process.hrtime.bigint();
  let writing;
  try {
    writing = r.store.putEntry(key, encoded, ttlMs, fill);
  } catch (err) {
    writing = Promise.reject(err);
  }
  return writing.then((stored) => {
    if (stored === false) debug('not storing %s: invalidated while it was being filled', key);
    reporter.stored(stored, started);
    return stored === true;
  }, (err) => {
    reporter.stored(err, started);
    return false;
  });
}

module.exports = { FILL, fillContext, refreshFill, lookupEntry, storeEntry };
