'use strict';

// The Express middleware: decide whether a request may use the cache, build its key, look it up,
// then either answer from the entry (HIT), answer from an expired one while a background refresh
// runs or when the handler fails (STALE, see lib/stale.js and lib/refresh.js), or let the handler
// run while its response is captured at the res.write/res.end level and stored when it ends
// (MISS). Every cache fault turns into "run the handler" (BYPASS); only the app's own errors ever
// reach next(err), and those come from the handler, not from here (unless that fallback itself
// throws: see lastResort, which passes the error on rather than leave the request unanswered).
const debug = require('debug')('respcache');
const binding = require('./binding');
const { routeOptions } = require('./options');
const { KeyBuilderError, ConditionError, StoreError, HandlerFailedError, InvalidationError } = require('./errors');
const { requestPath, requestPaths, checkTags, checkNamespace } = require('./invalidation');
const { NS_HEADER, isHeaderValue } = require('./policy');
const { bodyEtag, notModified, conditionsOf, withholdConditions, headersFor304, headerOf } = require('./validators');
const { httpLifetimeMs, requestWantsFresh, cacheControlDirectives } = require('./policy');
const { defaultKeyBuilder, unstorableReason, storedHeaders, credentialed, entrySharedExplicitly, wellFormed,
  revalidationShared } = require('./policy');
const { prepareEntry, variantFor } = require('./compress');
const { staleState, retentionMs, StaleFallback } = require('./stale');
const { REFRESH, startRefresh, canRefresh } = require('./refresh');
const { VaryRecords } = require('./vary');

// The conditions (If-None-Match, If-Modified-Since) withheld from the handler of a MISS.
const CONDITIONS = Symbol('respcache.conditions');
// What a store needs to know about the request: { ns, nsVersion, startedAt } (the path is taken
// when it stores).
const FILL = Symbol('respcache.fill');
// Methods that do not change state (RFC 9110 section 9.2.1); any other method's non-error
// response invalidates what is stored for its URL (RFC 9111 section 4.4).
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const MAX_LIFETIME_MS = 10 * 365 * 86400000;

// Faults that say "Redis cannot be used right now"; the connection already reported them.
const QUIET_LOOKUP_FAULTS = new Set(['ERR_RESPCACHE_REDIS_UNAVAILABLE', 'ERR_RESPCACHE_REDIS_CLOSED']);

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function')
    && typeof value.then === 'function';
}

function entryNoCache(headers) {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'cache-control' && cacheControlDirectives(headers[i + 1]).has('no-cache')) return true;
  }
  return false;
}

/** Adds names to the response's Vary header, keeping what is there. */
function addVary(res, names) {
  const current = res.getHeader('vary');
  const have = current === undefined ? [] : String(current).split(',').map((v) => v.trim()).filter(Boolean);
  const lower = new Set(have.map((v) => v.toLowerCase()));
  for (const name of names) if (!lower.has(name)) have.push(name);
  res.setHeader('Vary', have.join(', '));
}

function setCacheHeaders(res, verdict, key, route) {
  if (res.headersSent) return;
  res.setHeader('X-Cache', verdict);
  // A keyBuilder key no header can carry is left out.
  if (route.exposeKey && key !== undefined && isHeaderValue(key)) res.setHeader('X-Cache-Key', key);
}

/**
 * The fallback of a request whose cache path failed; should the fallback itself throw, the error
 * goes to Express's error handling instead of leaving the request unanswered.
 */
function lastResort(next, fallback) {
  try {
    fallback();
  } catch (err) {
    next(err);
  }
}

/**
 * Writes a stored entry through the ServerResponse: status, headers (repeated names as one
 * array), a Content-Length of the stored body, and the body unless the request is HEAD.
 * `verdict` is the X-Cache value: HIT, or STALE for an entry served after it expired.
 */
function serveHit(req, res, entry, key, route, coalesced, verdict = 'HIT') {
  // An entry the cache gzipped goes out as stored to gzip clients, gunzipped to the others.
  const variant = variantFor(req, entry);
  const conditions = entry.status === 200 ? (req[CONDITIONS] || conditionsOf(req)) : null;
  const unchanged = conditions !== null
    && notModified(conditions, headerOf(variant.headers, 'etag'), headerOf(variant.headers, 'last-modified'));
  res.statusCode = unchanged ? 304 : entry.status;
  const h = unchanged ? headersFor304(variant.headers) : variant.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i];
    if (i + 2 < h.length && h[i + 2] === name) {
      const values = [h[i + 1]];
      while (i + 2 < h.length && h[i + 2] === name) {
        i += 2;
        values.push(h[i + 1]);
      }
      res.setHeader(name, values);
    } else {
      res.setHeader(name, h[i + 1]);
    }
  }
  const age = String(Math.max(0, Math.floor((Date.now() - entry.storedAt) / 1000)));
  res.setHeader('Age', age);
  res.setHeader('X-Cache-Age', age);
  setCacheHeaders(res, verdict, key, route);
  if (coalesced) res.setHeader('X-Cache-Coalesced', '1');
  if (entry.tier === 'local') res.setHeader('X-Cache-Tier', 'local');
  if (unchanged || entry.status === 204) {
    res.end(); // no body, and no Content-Length either (RFC 9110 section 8.6)
    return;
  }
  res.setHeader('Content-Length', variant.length);
  if (req.method === 'HEAD') res.end();
  else res.end(variant.body);
}

/**
 * Wraps res.write and res.end to see the body as the handler produces it (res.json, res.send,
 * write+end and piped streams all end up there). Chunks go out at once; res.end (delayed only by
 * an asynchronous route condition) sends the rest, then the entry is stored in the same turn of
 * the event loop, before the next request on the connection can be read and looked up (see
 * endThenStore). `storeKey(ttlMs, record)`, when given, names the
 * key the response is stored under (vary discovery may key it by more headers than the request
 * was); record: false when nothing is stored.
 * @returns {{ abort(): void }} abort: the response will not be stored (fill.done(null) now)
 */
function captureResponse(cache, req, res, key, route, fill, storeKey = null) {
  const originalWrite = res.write;
  const originalEnd = res.end;
  let chunks = [];
  let size = 0;
  let tooLarge = false;
  let filled = false;
  // The Content-Encoding when the body first reaches this layer: the encoding of the bytes seen
  // here (one set later came from a layer between this one and the socket).
  let seen = false;
  let seenEncoding;

  // fill.done(encoded | null, storing) is called exactly once: with the entry when the response
  // was storable, else null (not storable, or the response never ended); storing is the store's
  // Promise<boolean> when one was made.
  function finishFill(encoded, storing = null) {
    if (filled) return;
    filled = true;
    fill.done(encoded, storing);
  }
  res.once('close', () => finishFill(null));
  // The client left while the request waited (lookup, lock): 'close' has fired already, and a
  // handler need not end a closed response (res.sendFile does not), so the fill ends now.
  if (res.destroyed) finishFill(null);

  // copy: a writer may reuse its buffer once write() returns; end()'s chunk is used before
  // end() returns, so it is not copied.
  function add(chunk, encoding, copy) {
    if (!seen) {
      seen = true;
      seenEncoding = res.getHeader('content-encoding');
    }
    if (tooLarge || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    let bytes;
    if (typeof chunk === 'string') {
      bytes = Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8');
    } else if (chunk instanceof Uint8Array) {
      bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (copy) bytes = Buffer.from(bytes);
    } else {
      return; // Node rejects such a chunk itself
    }
    size += bytes.length;
    if (size > route.maxBodySize) {
      tooLarge = true;
      chunks = null;
      return;
    }
    chunks.push(bytes);
  }

  // The entry's tags (route option `tags`), or null when they cannot be had: a tagged entry stored
  // without its tags would escape invalidation, so it is not stored.
  function entryTags() {
    if (route.tags === null) return [];
    if (Array.isArray(route.tags)) return route.tags;
    try {
      return checkTags(route.tags(req, res), 'what the "tags" function returned');
    } catch (err) {
      cache.report(new StoreError(`the tags of the response for "${key}" could not be had: ${err.message}`, { cause: err }));
      return null;
    }
  }

  // Encodes the entry (and gives the response its ETag while headers can still change); returns
  // the commit that stores it, run once the response went out (see res.end below).
  function prepare(body) {
    const now = Date.now();
    // A response to a request with credentials that says must-revalidate, proxy-revalidate or
    // s-maxage may be shared only if the cache obeys it (RFC 9111 section 3.5): its own freshness
    // then (Age deducted), never the route's ttl, and no stale reuse: Redis drops it when stale.
    const obeyOwn = credentialed(req, route) && revalidationShared(res);
    const ttlMs = route.httpTtl || obeyOwn
      ? Math.max(0, Math.min(httpLifetimeMs(res, obeyOwn ? 0 : route.ttlMs), MAX_LIFETIME_MS)) : route.ttlMs;
    // Redis keeps the entry through its stale windows; expiresAt still ends its freshness (so a
    // max-age=0 response with a stale window is stored, and served stale from the start).
    const keepMs = Math.floor(obeyOwn ? ttlMs : retentionMs(ttlMs, res, route));
    if (keepMs < 1) {
      debug('not storing %s: the response gives itself no lifetime (ttl: "http", or shared with credentials by must-revalidate / s-maxage)', key);
      return;
    }
    const tags = entryTags();
    if (tags === null) return;
    let encoded;
    try {
      const headers = storedHeaders(res);
      if (headerOf(headers, 'etag') === undefined && seenEncoding === undefined) {
        // Every entry has a validator; the MISS response gets the same one when it still can.
        const etag = bodyEtag(body);
        headers.push('etag', etag);
        if (!res.headersSent) res.setHeader('ETag', etag);
      }
      const entry = prepareEntry(headers, body, seenEncoding, (cache.options && cache.options.compress) || null);
      if (entry === null) {
        debug('not storing %s: the body was encoded before the cache saw it (Content-Encoding: %s)', key, seenEncoding);
        return;
      }
      const context = req[FILL];
      // A fill that made no lookup (a request that asked for a fresh answer) stores under the
      // namespace version last seen here; an older one only makes the entry a MISS.
      const stored = context.ns === null ? entry.headers
        : [NS_HEADER, context.nsVersion ?? cache._namespaceVersion(context.ns), ...entry.headers];
      encoded = binding.encodeEntry(res.statusCode, stored, entry.body, now, now + ttlMs);
    } catch (err) {
      cache.report(new StoreError(`the response for "${key}" cannot be stored: ${err.message}`, { cause: err }));
      return;
    }
    // Without a store (a BYPASS leader) the vary record is not written, but a response that varies
    // on headers the key lacks still goes to no waiter.
    const target = storeKey !== null ? storeKey(keepMs, fill.redis) : key;
    // X-Cache-Key names the key the entry goes under (vary discovery may have changed it).
    if (route.exposeKey && target !== null && target !== key && !res.headersSent) res.setHeader('X-Cache-Key', target);
    return () => {
      const storing = fill.redis ? cache.store(target, encoded, keepMs, { ...req[FILL], path: requestPaths(req), tags }) : null;
      // Waiters for `key` cannot use an entry stored under another key.
      finishFill(target === key ? encoded : null, storing);
    };
  }

  // The commit of a storable response (or undefined); a Promise of it when the route's condition
  // returned one.
  function decide() {
    if (tooLarge) {
      debug('not storing %s: body over maxBodySize (%d bytes)', key, route.maxBodySize);
      return undefined;
    }
    // A body that is not the length the response declared was cut short (a stream that failed, a
    // file that changed while it was sent): the client saw an incomplete response; no HIT may
    // replay it as a complete one.
    const declared = res.getHeader('content-length');
    if (declared !== undefined && String(declared).trim() !== String(size)) {
      debug('not storing %s: %d bytes for a Content-Length of %s', key, size, declared);
      return undefined;
    }
    const reason = unstorableReason(req, res, route);
    if (reason !== null) {
      debug('not storing %s: %s', key, reason);
      return undefined;
    }
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    chunks = null;
    if (route.condition === null) return prepare(body);
    const conditionFailed = (err) => cache.report(new ConditionError(
      `the condition of the route for "${key}" failed: ${err && err.message}`, { cause: err }));
    let verdict;
    try {
      verdict = route.condition(req, res, body);
    } catch (err) {
      return conditionFailed(err);
    }
    if (isThenable(verdict)) {
      return Promise.resolve(verdict).then((ok) => (ok ? prepare(body) : undefined), conditionFailed);
    }
    return verdict ? prepare(body) : undefined;
  }

  // The client's withheld conditions (see validators.js): answered here once the response is known.
  function finish(args) {
    const conditions = req[CONDITIONS];
    if (conditions && !res.headersSent && res.statusCode === 200
      && notModified(conditions, res.getHeader('etag'), res.getHeader('last-modified'))) {
      res.statusCode = 304;
      for (const name of ['content-type', 'content-length', 'transfer-encoding', 'content-encoding']) res.removeHeader(name);
      return originalEnd.call(res);
    }
    return originalEnd.apply(res, args);
  }

  res.write = function write(chunk, encoding) {
    add(chunk, encoding, true);
    return originalWrite.apply(this, arguments);
  };

  // The response goes out first, then the entry is stored: header hooks (on-headers, as
  // express-session uses to add its Set-Cookie) run as the headers are written, so only then are
  // the headers final; and a response Node refuses to send (end() throws) is not stored. The
  // store is still issued before this turn of the event loop ends, so the next request on this
  // connection finds it.
  function endThenStore(args, commit) {
    let result;
    try {
      result = finish(args);
    } catch (err) {
      finishFill(null);
      throw err;
    }
    if (typeof commit === 'function') {
      if (res.hasHeader('set-cookie')) debug('not storing %s: a cookie was set as the headers went out', key);
      else commit();
    }
    finishFill(null);
    return result;
  }

  res.end = function end(chunk, encoding) {
    res.write = originalWrite;
    res.end = originalEnd;
    add(chunk, encoding, false);
    const args = arguments;
    let pending;
    try {
      pending = decide();
    } catch (err) {
      cache.report(new StoreError(`storing the response for "${key}" failed: ${err.message}`, { cause: err }));
    }
    if (!isThenable(pending)) return endThenStore(args, pending);
    pending.then((commit) => commit, (err) => { cache.report(err); })
      .then((commit) => endThenStore(args, commit))
      .catch((err) => cache.report(err)); // end() refused what the handler gave it
    return this;
  };

  return { abort: () => finishFill(null) };
}

/**
 * Builds the route's middleware. Options are validated here, once; see README for each.
 * @param {import('./cache').Cache} cache
 * @param {object} [options]
 * @returns {import('express').RequestHandler}
 */
function createMiddleware(cache, options) {
  const route = routeOptions(options, cache.keyPrefix);
  const coalescer = route.coalesce ? cache.coalescer() : null;
  const varyRecords = route.keyBuilder ? null : new VaryRecords(cache, route);
  const STORE_ONLY = { redis: true, done() {} };
  const NOWHERE = null;
  // Keys whose handler has just failed under a stale-if-error fallback: the requests that waited
  // for that run answer from their stale entry too instead of running the handler again. Set and
  // cleared within one turn of the event loop (the waiters hear of the failure in microtasks).
  const failedJustNow = new Set();

  /**
   * Lets the handler run; its response is captured when it may be stored or handed over.
   * ctx: { key, keying (vary discovery, built-in key only), fallback (a stale-if-error entry) }.
   */
  function runHandler(req, res, next, key, verdict, fill, ctx) {
    if (req[REFRESH] === undefined) cache._outcome(req, verdict === 'MISS' ? 'miss' : 'bypass');
    setCacheHeaders(res, verdict, key, route);
    routeHeaders(res);
    let capture = null;
    if (fill !== NOWHERE && req.method !== 'HEAD') {
      // The handler must produce the full response to be stored; the client still gets its 304.
      req[CONDITIONS] = withholdConditions(req);
      const storeKey = ctx.keying === null ? null
        : (ttlMs, record) => varyRecords.storeKey(req, res, ctx.keying, ttlMs, record);
      capture = captureResponse(cache, req, res, key, route, fill, storeKey);
    }
    if (ctx.fallback !== null) ctx.fallback.watch(capture);
    next();
  }

  /** The stale-if-error fallback of a request that found `entry` expired but inside that window. */
  function staleFallback(req, res, entry, key) {
    return new StaleFallback(res, route.handlerTimeout, (reason) => {
      // One report per failed run, not one per request that waited for it.
      if (!failedJustNow.has(key)) {
        failedJustNow.add(key);
        setImmediate(() => failedJustNow.delete(key));
        cache.report(new HandlerFailedError(`the handler for "${key}" failed: ${reason}; answered from the stale entry`));
      }
      serveHit(req, res, entry, key, route, false, 'STALE');
    });
  }

  /**
   * After a lookup found nothing usable (MISS) or could not be made (BYPASS): one request per key
   * in this process leads, the others wait for its entry; the leader also checks whether another
   * process is filling the key already. Without Redis the leader's response is still handed to
   * the waiters of this process.
   */
  function afterLookup(req, res, next, key, verdict, ctx) {
    const plain = verdict === 'MISS' ? STORE_ONLY : NOWHERE;
    if (coalescer === null || req.method === 'HEAD' || credentialed(req, route)) {
      return runHandler(req, res, next, key, verdict, plain, ctx);
    }
    const leading = coalescer.leading.get(key);
    if (leading !== undefined && leading < cache._lastInvalidationAt) {
      // The fill under way began before an invalidation this process made or heard of: its
      // response may predate the write, so this request computes its own.
      return runHandler(req, res, next, key, verdict, plain, ctx);
    }
    const wait = coalescer.flights.join(key, route.coalesceTimeout);
    if (wait !== null) {
      wait.then((outcome) => {
        const entry = outcome.kind === 'value' ? cache.decodeStored(outcome.payload) : null;
        if (entry !== null && typeof entry !== 'string') {
          if (ctx.fallback !== null) ctx.fallback.cancel();
          cache._outcome(req, 'hit_coalesced');
          serveHit(req, res, entry, key, route, true);
        } else if (ctx.fallback !== null && failedJustNow.has(key)) {
          cache._outcome(req, 'stale');
          ctx.fallback.fail('the concurrent request that ran it failed');
        } else {
          runHandler(req, res, next, key, verdict, plain, ctx);
        }
      }).catch((err) => {
        // Serving the leader's entry failed (bytes that cannot be served): answer from the handler.
        cache.report(err);
        if (!res.headersSent) lastResort(next, () => runHandler(req, res, next, key, 'BYPASS', NOWHERE, ctx));
      });
      return undefined;
    }
    coalescer.leading.set(key, performance.now());
    const leaderFill = (token) => ({
      redis: verdict === 'MISS',
      done(encoded) {
        coalescer.leading.delete(key);
        if (encoded !== null) coalescer.flights.complete(key, encoded);
        else coalescer.flights.fail(key);
        if (token !== undefined) coalescer.release(`e:${key}`, token, encoded !== null);
      },
    });
    if (verdict !== 'MISS') return runHandler(req, res, next, key, verdict, leaderFill(undefined), ctx);
    // Only a fresh entry counts as filled by another process; an expired one is why we are here.
    const readFresh = () => cache._readEntry(key, req[FILL]).then((e) => (e !== null && e.expiresAt > Date.now() ? e : null));
    coalescer.acquire(`e:${key}`, readFresh, route).then((decision) => {
      if (decision.entry) {
        coalescer.leading.delete(key);
        if (ctx.fallback !== null) ctx.fallback.cancel();
        coalescer.flights.complete(key, decision.entry.bytes);
        cache._outcome(req, decision.waited ? 'hit_coalesced' : 'hit');
        serveHit(req, res, decision.entry, key, route, decision.waited);
      } else {
        runHandler(req, res, next, key, 'MISS', leaderFill(decision.token), ctx);
      }
    }).catch((err) => {
      cache.report(err);
      coalescer.leading.delete(key);
      coalescer.flights.fail(key);
      if (!res.headersSent) lastResort(next, () => runHandler(req, res, next, key, 'BYPASS', NOWHERE, ctx));
    });
    return undefined;
  }

  /**
   * Looks the request's key up. Under the built-in key, a miss on the base key reads the route's
   * vary record (another process may have learnt that responses vary) and, if there is one, looks
   * the varied key up instead; ctx.key is then that key.
   */
  function lookup(req, ctx) {
    const keying = ctx.keying;
    const found = cache.lookup(ctx.key, req[FILL]);
    // Vary records are only fetched for a built-in key whose names this process has not learnt.
    if (keying === null || keying.names !== null) return found;
    return found.then((entry) => {
      if (entry !== null) return entry;
      return varyRecords.fetch(keying.base).then((names) => {
        if (names === null) return null;
        ctx.keying = { base: keying.base, names, key: varyRecords.keyFor(req, names) };
        ctx.key = ctx.keying.key;
        return cache.lookup(ctx.key, req[FILL]);
      });
    });
  }

  /**
   * What storing this request's response needs besides its path: its namespace, and when its
   * fill began (for the invalidation fence). Throws when the namespace function fails.
   */
  function fillContext(req) {
    let ns = null;
    if (route.namespace !== null) {
      ns = checkNamespace(typeof route.namespace === 'function' ? route.namespace(req) : route.namespace);
    }
    return { ns, nsVersion: null, startedAt: performance.now() };
  }

  /** A background refresh has no lookup of its own: its namespace version is the one last seen. */
  function refreshFill(req) {
    try {
      const context = fillContext(req);
      if (context.ns !== null) context.nsVersion = cache._namespaceVersion(context.ns);
      return context;
    } catch {
      return { ns: null, nsVersion: null, startedAt: performance.now() };
    }
  }

  /**
   * The route's Vary and Cache-Control for clients (a handler that sets its own Cache-Control
   * replaces it), on every answer to a read, cached or not: a route that says 'private' says it
   * also when its keyBuilder failed.
   */
  function routeHeaders(res) {
    if (res.headersSent) return;
    if (route.vary !== null) addVary(res, route.vary);
    if (route.cacheControl !== null) res.setHeader('Cache-Control', route.cacheControl);
  }

  function bypass(req, res, next, key, why) {
    cache._outcome(req, 'bypass');
    debug('bypass %s: %s', key === undefined ? '' : key, why);
    setCacheHeaders(res, 'BYPASS', key, route);
    if (SAFE_METHODS.has(req.method)) routeHeaders(res);
    next();
  }

  /**
   * A write (an unsafe method the route does not cache): once the handler's response is known to
   * be a success (2xx/3xx), the entries stored for the request's path and whatever the route's
   * `invalidates` names are removed before the response's last byte is sent, so the writer's
   * next read sees its write. A failed invalidation is reported; the response still goes out.
   */
  function invalidateOnWrite(req, res, next) {
    const originalEnd = res.end;
    res.end = function end(...args) {
      res.end = originalEnd;
      if (res.statusCode < 200 || res.statusCode >= 400) return originalEnd.apply(res, args);
      let work;
      try {
        work = writeInvalidation(req, res);
      } catch (err) {
        work = Promise.reject(err);
      }
      work.catch((err) => cache.report(new InvalidationError(
        `invalidating after ${req.method} ${requestPath(req)} failed: ${err && err.message}`, { cause: err })))
        .then(() => originalEnd.apply(res, args));
      return res;
    };
    bypass(req, res, next, undefined, `method ${req.method}`);
  }

  async function writeInvalidation(req, res) {
    const paths = requestPaths(req);
    let tags = [];
    const named = typeof route.invalidates === 'function' ? await route.invalidates(req, res) : route.invalidates;
    if (Array.isArray(named)) {
      tags = named;
    } else if (named !== null && named !== undefined) {
      if (typeof named !== 'object') throw new TypeError('the "invalidates" function returned neither an array of tags nor { tags, paths }');
      if (named.tags !== undefined) tags = named.tags;
      if (named.paths !== undefined) {
        if (!Array.isArray(named.paths)) throw new TypeError('the "paths" that "invalidates" returned is not an array');
        paths.push(...named.paths);
      }
    }
    checkTags(tags, 'the tags to invalidate');
    await Promise.all([cache.invalidatePath(paths), tags.length > 0 ? cache.invalidateTags(tags) : 0]);
  }

  return function respcache(req, res, next) {
    const refresh = req[REFRESH];
    if (refresh !== undefined) {
      // A background refresh (lib/refresh.js): the route that started it runs its handler and
      // stores the response; other cached layers let it through untouched.
      if (refresh.owner !== respcache) return next();
      refresh.claimed = true;
      req[FILL] = refreshFill(req);
      return runHandler(req, res, next, refresh.key, 'MISS', refresh.fill,
        { key: refresh.key, keying: refresh.keying, fallback: null });
    }
    if (!route.methods.has(req.method)) {
      if (!SAFE_METHODS.has(req.method)) return invalidateOnWrite(req, res, next);
      return bypass(req, res, next, undefined, `method ${req.method}`);
    }

    const builderFailed = (err) => {
      cache.report(err instanceof KeyBuilderError ? err
        : new KeyBuilderError(`the keyBuilder failed: ${err && err.message}`, { cause: err }));
      bypass(req, res, next, undefined, 'keyBuilder failed');
    };

    const ctx = { key: undefined, keying: null, fallback: null };

    const withKey = (built) => {
      if (typeof built !== 'string' || built.length === 0) {
        return builderFailed(new KeyBuilderError(
          `the keyBuilder returned ${typeof built === 'string' ? 'an empty string' : typeof built}, not a non-empty string`));
      }
      if (route.keyBuilder && !wellFormed(built)) {
        // Redis keys are bytes: a lone surrogate would become U+FFFD and share an entry with others
        // (the built-in key is hex under a prefix checked at setup).
        return builderFailed(new KeyBuilderError('the keyBuilder returned a key with a lone UTF-16 surrogate, which has no exact UTF-8 form'));
      }
      ctx.key = built;
      try {
        req[FILL] = fillContext(req);
      } catch (err) {
        return builderFailed(new KeyBuilderError(`the namespace function failed: ${err && err.message}`, { cause: err }));
      }
      if (route.honorRequestNoCache && requestWantsFresh(req)) {
        // The client asked for a fresh answer and the route lets it: run the handler, store anew.
        runHandler(req, res, next, built, 'MISS', STORE_ONLY, ctx);
        return undefined;
      }
      lookup(req, ctx).then((entry) => {
        const key = ctx.key;
        if (entry !== null && entryNoCache(entry.headers)) {
          // Stored with Cache-Control: no-cache: usable only after revalidation, which is the
          // handler's run; its response replaces the entry.
          runHandler(req, res, next, key, 'MISS', STORE_ONLY, ctx);
          return;
        }
        if (entry !== null && credentialed(req, route) && !entrySharedExplicitly(entry.headers)) {
          // Maybe personal: this requester gets its own handler's answer (stored only if shareable).
          debug('not serving %s to a request with credentials: the entry is not marked shareable', key);
          runHandler(req, res, next, key, 'MISS', STORE_ONLY, ctx);
          return;
        }
        if (entry !== null) {
          const state = staleState(entry, route, Date.now());
          if (state === 'fresh') {
            cache._outcome(req, entry.tier === 'local' ? 'hit_local' : 'hit');
            serveHit(req, res, entry, key, route, false);
            return;
          }
          if (state === 'revalidate' && canRefresh(req)) {
            cache._outcome(req, 'stale');
            serveHit(req, res, entry, key, route, false, 'STALE');
            startRefresh(cache, req, key, route, respcache, ctx.keying);
            return;
          }
          // Inside a stale window but not refreshable in the background (no Express app), or
          // inside stale-if-error: the handler runs, and the entry answers if it fails.
          if (state !== 'expired') ctx.fallback = staleFallback(req, res, entry, key);
        }
        // A HEAD response has no body to store; the GET that follows fills the entry.
        afterLookup(req, res, next, key, 'MISS', ctx);
      }, (err) => {
        if (!QUIET_LOOKUP_FAULTS.has(err && err.code)) cache.report(err);
        debug('bypass %s: %s', ctx.key, err && err.code);
        afterLookup(req, res, next, ctx.key, 'BYPASS', ctx);
      }).catch((err) => {
        // Only reached when serving a HIT threw, which decoded entries are built not to do.
        cache.report(err);
        if (!res.headersSent) lastResort(next, () => bypass(req, res, next, ctx.key, 'serving the entry failed'));
      });
      return undefined;
    };

    let key;
    try {
      if (route.keyBuilder) {
        key = route.keyBuilder(req, route.keyPrefix);
      } else {
        // The built-in key, with the headers this route has learnt its responses vary on.
        const base = varyRecords.baseKey(req);
        const names = varyRecords.local(base);
        key = names === null ? base : varyRecords.keyFor(req, names);
        ctx.keying = { base, names, key };
      }
    } catch (err) {
      return builderFailed(err);
    }
    if (isThenable(key)) {
      Promise.resolve(key).then(withKey, builderFailed);
      return undefined;
    }
    return withKey(key);
  };
}

module.exports = { createMiddleware, captureResponse, serveHit };
