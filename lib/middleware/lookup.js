'use strict';

// The lookup of a request's key and what its answer leads to: a HIT served, a STALE entry served
// while a background refresh runs, or the handler (MISS, or BYPASS when the store cannot answer).
const debug = require('debug')('respcache');
const { entryNoCache, credentialed, entrySharedExplicitly, staleState } = require('../http/storability');
const { serveHit, lastResort } = require('./serve');
const { runHandler, bypass, STORE_ONLY } = require('./handler');
const { afterLookup } = require('./coalesce');
const { staleFallback } = require('./stale');
const { startRefresh, canRefresh } = require('./refresh');
const { FILL, lookupEntry } = require('./fill');

// Faults that say "the store cannot be used right now"; the connection already reported them.
const QUIET_LOOKUP_FAULTS = new Set(['ERR_RESPCACHE_REDIS_UNAVAILABLE', 'ERR_RESPCACHE_REDIS_CLOSED']);

/**
 * The fill lock to take with the lookup (its ttl, 0 for none): a request that would lead the fill
 * of `key` when nothing is stored (a coalescing route, no fill of it under way in this process),
 * so that a cold MISS runs its handler after one round trip.
 */
function lockWanted(r, req, key) {
  const route = r.route;
  if (!route.coalesce || req.method === 'HEAD' || credentialed(req, route)) return 0;
  return r.inflight.fillStartedAt(key) === undefined ? route.lockTtl : 0;
}

/**
 * Looks the request's key up. Under the built-in key, when the base key has no entry, the route's
 * vary record is read with it (another process may have learnt that responses vary) and, if there
 * is one, the varied key is looked up instead; ctx.key is then that key. A fill lock taken with
 * the lookup goes on ctx.token (lib/middleware/coalesce.js).
 */
function lookup(r, req, ctx) {
  const keying = ctx.keying;
  // Vary records are only read for a built-in key whose names this process has not learnt.
  const base = keying !== null && keying.names === null ? keying.base : null;
  const want = { record: base, accept: base === null ? null : r.varyRecords.accept, lockTtl: lockWanted(r, req, ctx.key) };
  return lookupEntry(r, ctx.key, req[FILL], want).then((found) => {
    if (found.record === null) {
      ctx.token = found.token;
      return found.entry;
    }
    const names = r.varyRecords.learn(base, found.record);
    ctx.keying = { base, names, key: r.varyRecords.keyFor(req, names) };
    ctx.key = ctx.keying.key;
    const again = { record: null, accept: null, lockTtl: lockWanted(r, req, ctx.key) };
    return lookupEntry(r, ctx.key, req[FILL], again).then((varied) => {
      ctx.token = varied.token;
      return varied.entry;
    });
  });
}

/**
 * Answers a request whose lookup found `entry` (or null): from the entry when it is fresh and
 * this requester may have it, else through the handler (with a stale fallback or refresh when the
 * entry allows one).
 */
function answer(r, req, res, next, ctx, entry) {
  const route = r.route;
  const key = ctx.key;
  if (entry !== null && credentialed(req, route) && !entrySharedExplicitly(entry.headers)) {
    // Maybe personal: this requester gets its own handler's answer (stored only if shareable).
    debug('not serving %s to a request with credentials: the entry is not marked shareable', key);
    runHandler(r, req, res, next, key, 'MISS', STORE_ONLY, ctx);
    return;
  }
  if (entry !== null && entryNoCache(entry.headers)) {
    // Stored with Cache-Control: no-cache: usable only after revalidation, which is the
    // handler's run: on a ttl: 'http' route with the entry's validators as its conditions
    // (a 304 refreshes the entry, revalidate.js), elsewhere a run whose response replaces it.
    if (route.httpTtl) ctx.revalidate = entry;
    runHandler(r, req, res, next, key, 'MISS', STORE_ONLY, ctx);
    return;
  }
  if (entry !== null) {
    const state = staleState(entry, route, r.clock.now());
    if (state === 'fresh') {
      r.reporter.outcome(req, entry.tier === 'local' ? 'hit_local' : 'hit');
      serveHit(r, req, res, entry, key, false);
      return;
    }
    if (state === 'revalidate' && canRefresh(req)) {
      r.reporter.outcome(req, 'stale');
      serveHit(r, req, res, entry, key, false, 'STALE');
      startRefresh(r, req, key, ctx.keying, route.httpTtl ? entry : null);
      return;
    }
    // Inside a stale window but not refreshable in the background (no Express app), or
    // inside stale-if-error: the handler runs, and the entry answers if it fails.
    if (state !== 'expired') ctx.fallback = staleFallback(r, req, res, entry, key);
    // A ttl: 'http' route validates a stale entry it still holds (retainStale, stale windows).
    if (route.httpTtl) ctx.revalidate = entry;
  }
  // A HEAD response has no body to store; the GET that follows fills the entry.
  afterLookup(r, req, res, next, key, 'MISS', ctx);
}

/** Serving an entry threw, which decoded entries are built not to do: the handler answers. */
function answerFailed(r, req, res, next, ctx, err) {
  r.report(err);
  if (!res.headersSent) lastResort(next, () => bypass(r, req, res, next, ctx.key, 'serving the entry failed'));
}

/**
 * Looks the request up and answers it. An entry this process holds in memory is served in the
 * same turn of the event loop (no Promise on the way); anything else takes the store's lookup.
 */
function lookupAndAnswer(r, req, res, next, ctx) {
  const metrics = r.reporter.metrics;
  const started = metrics === null ? 0n : process.hrtime.bigint();
  const held = r.store.peek(ctx.key, req[FILL]);
  if (held !== null) {
    if (metrics !== null) metrics.lookupSeconds.observe({ tier: 'local' }, Number(process.hrtime.bigint() - started) / 1e9);
    try {
      answer(r, req, res, next, ctx, held);
    } catch (err) {
      answerFailed(r, req, res, next, ctx, err);
    }
    return;
  }
  lookup(r, req, ctx).then((entry) => answer(r, req, res, next, ctx, entry), (err) => {
    if (!QUIET_LOOKUP_FAULTS.has(err && err.code)) r.report(err);
    debug('bypass %s: %s', ctx.key, err && err.code);
    afterLookup(r, req, res, next, ctx.key, 'BYPASS', ctx);
  }).catch((err) => answerFailed(r, req, res, next, ctx, err));
}

module.exports = { lookupAndAnswer };
