'use strict';

// The Express middleware of a cached route. A request goes through these phases, each in its own
// file of this folder:
//   gate (here)            refresh copies, methods, writes (invalidate-on-write.js);
//   key (here)             the route's keyBuilder, or the built-in key with the vary headers
//                          the route has learnt (vary.js);
//   lookup (lookup.js)     the store's answer: HIT (serve.js), STALE with a background refresh
//                          (refresh.js) or a stale-if-error fallback (stale.js), else
//   coalesce (coalesce.js) one handler run per key, in this process and across processes;
//   handler (handler.js)   the handler runs, its response captured (capture.js) and stored
//                          (fill.js).
// Every cache fault turns into "run the handler" (BYPASS); only the app's own errors ever reach
// next(err), and those come from the handler, not from here (unless that fallback itself throws:
// see lastResort in serve.js, which passes the error on rather than leave the request unanswered).
const { routeOptions } = require('../route-options');
const { KeyBuilderError } = require('../errors');
const { requestWantsFresh } = require('../http/storability');
const { wellFormed } = require('../http/keys');
const { REFRESH } = require('./refresh');
const { VaryRecords } = require('./vary');
const { FILL, fillContext, refreshFill } = require('./fill');
const { runHandler, bypass, STORE_ONLY, SAFE_METHODS } = require('./handler');
const { invalidateOnWrite } = require('./invalidate-on-write');
const { lookupAndAnswer } = require('./lookup');
const { isThenable } = require('./capture');
const { routeLabel } = require('../metrics');

/** The keyBuilder (or namespace function) failed: reported, and the handler answers (BYPASS). */
function builderFailed(r, req, res, next, err) {
  r.report(err instanceof KeyBuilderError ? err
    : new KeyBuilderError(`the keyBuilder failed: ${err && err.message}`, { cause: err }));
  bypass(r, req, res, next, undefined, 'keyBuilder failed');
}

/** With the request's key built: checked, then looked up (or a fresh answer when asked for). */
function withKey(r, req, res, next, ctx, built) {
  const route = r.route;
  if (typeof built !== 'string' || built.length === 0) {
    return builderFailed(r, req, res, next, new KeyBuilderError(
      `the keyBuilder returned ${typeof built === 'string' ? 'an empty string' : typeof built}, not a non-empty string`));
  }
  if (route.keyBuilder && !wellFormed(built)) {
    // Redis keys are bytes: a lone surrogate would become U+FFFD and share an entry with others
    // (the built-in key is hex under a prefix checked at setup).
    return builderFailed(r, req, res, next,
      new KeyBuilderError('the keyBuilder returned a key with a lone UTF-16 surrogate, which has no exact UTF-8 form'));
  }
  ctx.key = built;
  try {
    req[FILL] = fillContext(route, req);
  } catch (err) {
    return builderFailed(r, req, res, next,
      new KeyBuilderError(`the namespace function failed: ${err && err.message}`, { cause: err }));
  }
  if (route.honorRequestNoCache && requestWantsFresh(req)) {
    // The client asked for a fresh answer and the route lets it: run the handler, store anew.
    runHandler(r, req, res, next, built, 'MISS', STORE_ONLY, ctx);
    return undefined;
  }
  lookupAndAnswer(r, req, res, next, ctx);
  return undefined;
}

/**
 * Builds a route's middleware. Options are validated here, once (docs/api.md).
 * @param {import('../cache').Cache} cache
 * @param {object} [options]
 * @returns {(req: object, res: object, next: (err?: unknown) => void) => void}
 */
function createMiddleware(cache, options) {
  const route = routeOptions(options, cache.keyPrefix);
  const store = cache._store;
  // A coalescing route must hear fill notices from the start: a waiter never misses one.
  if (route.coalesce) store.listen();
  // The front lane (lib/front.js) keys requests under the prefixes of the routes that opted in.
  if (route.front) cache._frontPrefixes.add(route.keyPrefix);
  // The route context every phase is given.
  const r = {
    cache,
    route,
    store,
    inflight: cache._inflight,
    reporter: cache._reporter,
    report: cache._reporter.report,
    compress: cache.options.compress || null,
    clock: cache._clock,
    varyRecords: null,
    // Keys whose handler has just failed under a stale-if-error fallback (lib/middleware/stale.js).
    failedJustNow: new Set(),
    owner: null,
  };
  r.varyRecords = route.keyBuilder ? null : new VaryRecords(r);

  function respcache(req, res, next) {
    // The front lane answers this route's entries only once it reached the route in this process.
    if (route.front) cache._frontLabels.add(routeLabel(req));
    const refresh = req[REFRESH];
    if (refresh !== undefined) {
      // A background refresh (refresh.js): the route that started it runs its handler and stores
      // the response; other cached layers let it through untouched.
      if (refresh.owner !== respcache) return next();
      refresh.claimed = true;
      req[FILL] = refreshFill(r, req);
      return runHandler(r, req, res, next, refresh.key, 'MISS', refresh.fill,
        { key: refresh.key, keying: refresh.keying, fallback: null, revalidate: route.httpTtl ? refresh.entry : null });
    }
    if (!route.methods.has(req.method)) {
      if (!SAFE_METHODS.has(req.method)) return invalidateOnWrite(r, req, res, next);
      return bypass(r, req, res, next, undefined, `method ${req.method}`);
    }

    const ctx = { key: undefined, keying: null, fallback: null, token: undefined };
    let key;
    try {
      if (route.keyBuilder) {
        key = route.keyBuilder(req, route.keyPrefix);
      } else {
        // The built-in key, with the headers this route has learnt its responses vary on.
        const base = r.varyRecords.baseKey(req);
        const names = r.varyRecords.local(base);
        key = names === null ? base : r.varyRecords.keyFor(req, names);
        ctx.keying = { base, names, key };
      }
    } catch (err) {
      return builderFailed(r, req, res, next, err);
    }
    if (isThenable(key)) {
      Promise.resolve(key).then((built) => withKey(r, req, res, next, ctx, built),
        (err) => builderFailed(r, req, res, next, err));
      return undefined;
    }
    return withKey(r, req, res, next, ctx, key);
  }
  r.owner = respcache;
  return respcache;
}

module.exports = { createMiddleware };
