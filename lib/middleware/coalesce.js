'use strict';

// Request coalescing. After a lookup found nothing usable (MISS) or could not be made (BYPASS), one
// request per key in this process leads (the in-flight table, lib/inflight.js), the others wait
// for its entry; the leader of a MISS also asks the store whether another process fills the key
// already (its fill lock), and if so waits for that fill instead of running the handler. Without
// a shared store the leader's response is still handed to the waiters of this process.
const { decodeStored } = require('../entry');
const { credentialed } = require('../http/storability');
const { serveHit, lastResort } = require('./serve');
const { runHandler, STORE_ONLY, NOWHERE } = require('./handler');
const { FILL } = require('./fill');

/**
 * Runs the handler for `key`, or has this request wait for the one that does.
 * @param {object} r the route context (lib/middleware/index.js)
 * @param {'MISS'|'BYPASS'} verdict
 * @param {object} ctx { key, keying, fallback }
 */
function afterLookup(r, req, res, next, key, verdict, ctx) {
  const plain = verdict === 'MISS' ? STORE_ONLY : NOWHERE;
  const route = r.route;
  const store = r.store;
  // A fill lock the lookup took (lib/middleware/lookup.js), if this request does not lead after all.
  const token = typeof ctx.token === 'string' ? ctx.token : undefined;
  ctx.token = undefined;
  // Given back so that whoever waits for it (this process's leader among them) retries at once.
  const unlock = () => { if (token !== undefined) store.giveBack(`e:${key}`, token); };
  if (!route.coalesce || req.method === 'HEAD' || credentialed(req, route)) {
    unlock();
    return runHandler(r, req, res, next, key, verdict, plain, ctx);
  }
  const inflight = r.inflight;
  const leading = inflight.fillStartedAt(key);
  if (leading !== undefined && leading < store.lastInvalidationAt) {
    // The fill under way began before an invalidation this process made or heard of: its
    // response may predate the write, so this request computes its own.
    unlock();
    return runHandler(r, req, res, next, key, verdict, plain, ctx);
  }
  const wait = inflight.join(key, route.coalesceTimeout);
  if (wait !== null) {
    unlock();
    wait.then((outcome) => {
      const entry = outcome.kind === 'value' ? decodeStored(outcome.payload) : null;
      if (entry !== null && typeof entry !== 'string') {
        if (ctx.fallback !== null) ctx.fallback.cancel();
        r.reporter.outcome(req, 'hit_coalesced');
        serveHit(r, req, res, entry, key, true);
      } else if (ctx.fallback !== null && r.failedJustNow.has(key)) {
        r.reporter.outcome(req, 'stale');
        ctx.fallback.fail('the concurrent request that ran it failed');
      } else {
        runHandler(r, req, res, next, key, verdict, plain, ctx);
      }
    }).catch((err) => {
      // Serving the leader's entry failed (bytes that cannot be served): answer from the handler.
      r.report(err);
      if (!res.headersSent) lastResort(next, () => runHandler(r, req, res, next, key, 'BYPASS', NOWHERE, ctx));
    });
    return undefined;
  }
  const leaderFill = (held) => ({
    redis: verdict === 'MISS',
    done(encoded) {
      if (encoded !== null) inflight.complete(key, encoded);
      else inflight.fail(key);
      if (held !== undefined) store.release(`e:${key}`, held, encoded !== null);
    },
  });
  if (verdict !== 'MISS') return runHandler(r, req, res, next, key, verdict, leaderFill(undefined), ctx);
  // The lookup took the fill lock: nothing was stored, and no other process fills it.
  if (token !== undefined) return runHandler(r, req, res, next, key, 'MISS', leaderFill(token), ctx);
  // Only a fresh entry counts as filled by another process; an expired one is why we are here.
  const fill = req[FILL];
  const readFresh = () => store.getEntry(key, fill).then((e) => (e !== null && e.expiresAt > r.clock.now() ? e : null));
  store.acquire(`e:${key}`, readFresh, route).then((decision) => {
    if (decision.entry) {
      if (ctx.fallback !== null) ctx.fallback.cancel();
      inflight.complete(key, decision.entry.bytes);
      r.reporter.outcome(req, decision.waited ? 'hit_coalesced' : 'hit');
      serveHit(r, req, res, decision.entry, key, decision.waited);
    } else {
      runHandler(r, req, res, next, key, 'MISS', leaderFill(decision.token), ctx);
    }
  }).catch((err) => {
    r.report(err);
    inflight.fail(key);
    if (!res.headersSent) lastResort(next, () => runHandler(r, req, res, next, key, 'BYPASS', NOWHERE, ctx));
  });
  return undefined;
}

module.exports = { afterLookup };
