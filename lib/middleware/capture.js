'use strict';

// A MISS's response as the handler produces it, captured at the res.write/res.end level (res.json,
// res.send, write+end and piped streams all end up there), judged storable or not, encoded, and
// stored once it went out.
const debug = require('debug')('respcache');
const binding = require('../binding');
const { StoreError, ConditionError } = require('../errors');
const { checkTags } = require('../stores/contract');
const { requestPaths } = require('../http/paths');
const { httpLifetimeMs, unstorableReason, storedHeaders, credentialed, revalidationShared,
  retentionMs, httpFreshness } = require('../http/storability');
const { formatHttpDate } = require('../http/http-date');
const { decodeStored } = require('../entry');
const { bodyEtag, notModified, headerOf } = require('../http/validators');
const { prepareEntry } = require('../http/compress');
const { CONDITIONS, serveHit } = require('./serve');
const { setValidators, holdNotModified, refreshedEntry } = require('./revalidate');
const { FILL, storeEntry } = require('./fill');
const { frontMeta } = require('../front');
const { routeLabel } = require('../metrics');

const MAX_LIFETIME_MS = 10 * 365 * 86400000;

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function')
    && typeof value.then === 'function';
}

/**
 * Wraps res.write and res.end to see the body as the handler produces it (res.json, res.send,
 * write+end and piped streams all end up there). Chunks go out at once; res.end (delayed only by
 * an asynchronous route condition) sends the rest, then the entry is stored in the same turn of
 * the event loop, before the next request on the connection can be read and looked up (see
 * endThenStore). `storeKey(ttlMs, record)`, when given, names the
 * key the response is stored under (vary discovery may key it by more headers than the request
 * was); record: false when nothing is stored. `revalidating` (ttl: 'http' routes): the entry this
 * run validates; its validators are the request's conditions while the handler runs, and a 304
 * from the handler refreshes it and serves its body (revalidate.js).
 * @returns {{ abort(): void }} abort: the response will not be stored (fill.done(null) now)
 */
function captureResponse(r, req, res, key, fill, storeKey = null, revalidating = null) {
  const route = r.route;
  // RFC 9111 4.2.3: request_time, for the age of a response a ttl: 'http' route stores.
  const requestTime = r.clock.now();
  // Whether the Date the response went out with is the cache's (else the handler's own).
  let dateSetHere = false;
  const dropValidators = revalidating === null ? null : setValidators(req, revalidating);
  const releaseWriteHead = revalidating === null ? null : holdNotModified(res);
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
      if (route.httpTtl && !res.headersSent && res.sendDate && !res.hasHeader('date')) {
        // The Date the entry keeps is the one the client got (RFC 9110 6.6.1), by the cache's clock.
        res.setHeader('Date', formatHttpDate(r.clock.now()));
        dateSetHere = true;
      }
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
      r.report(new StoreError(`the tags of the response for "${key}" could not be had: ${err.message}`, { cause: err }));
      return null;
    }
  }

  // Encodes the entry (and gives the response its ETag while headers can still change); returns
  // the commit that stores it, run once the response went out (see res.end below).
  function prepare(body) {
    const now = r.clock.now();
    // A response to a request with credentials that says must-revalidate, proxy-revalidate or
    // s-maxage may be shared only if the cache obeys it (RFC 9111 section 3.5): its own freshness
    // then (Age deducted), never the route's ttl, and no stale reuse: Redis drops it when stale.
    const obeyOwn = credentialed(req, route) && revalidationShared(res);
    let headers = null;
    let storedAt = now;
    let ttlMs = route.ttlMs;
    if (route.httpTtl) {
      // RFC 9111 4.2: the entry is as old as the response was (storedAt goes back by its age).
      headers = storedHeaders(res, { date: true });
      if (headerOf(headers, 'date') === undefined) {
        headers.push('date', formatHttpDate(now));
        dateSetHere = true;
      }
      const fresh = httpFreshness(headers, res.statusCode, route,
        { requestTime, responseTime: now, ownDate: dateSetHere, explicitOnly: obeyOwn });
      storedAt = now - fresh.initialAgeMs;
      ttlMs = Math.min(storedAt + fresh.lifetimeMs - now, MAX_LIFETIME_MS);
      // The Age sent on a HIT is the entry's own (serve.js), never the one it arrived with.
      headers = headers.filter((_v, i) => headers[i - (i % 2)] !== 'age');
    } else if (obeyOwn) {
      ttlMs = Math.max(0, Math.min(httpLifetimeMs(res, 0, now), MAX_LIFETIME_MS));
    }
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
      if (headers === null) headers = storedHeaders(res);
      if (headerOf(headers, 'etag') === undefined && seenEncoding === undefined) {
        // Every entry has a validator; the MISS response gets the same one when it still can.
        const etag = bodyEtag(body);
        headers.push('etag', etag);
        if (!res.headersSent) res.setHeader('ETag', etag);
      }
      const entry = prepareEntry(headers, body, seenEncoding, r.compress);
      if (entry === null) {
        debug('not storing %s: the body was encoded before the cache saw it (Content-Encoding: %s)', key, seenEncoding);
        return;
      }
      const context = req[FILL];
      // A fill that made no lookup (a request that asked for a fresh answer) stores under the
      // namespace version last seen here; an older one only makes the entry a MISS.
      // Entries of front routes: the front lane may answer them (lib/front.js).
      const front = route.front ? frontMeta(route, req, routeLabel(req)) : null;
      const meta = {
        ns: context.ns === null ? undefined : context.nsVersion ?? r.store.namespaceVersion(context.ns),
        gzip: entry.gzip,
        flags: front === null ? 0 : front.flags,
        route: front === null ? undefined : front.route,
      };
      encoded = binding.encodeEntry(res.statusCode, entry.headers, entry.body, storedAt, now + ttlMs, meta);
    } catch (err) {
      r.report(new StoreError(`the response for "${key}" cannot be stored: ${err.message}`, { cause: err }));
      return;
    }
    // Without a store (a BYPASS leader) the vary record is not written, but a response that varies
    // on headers the key lacks still goes to no waiter.
    const target = storeKey !== null ? storeKey(keepMs, fill.redis) : key;
    // X-Cache-Key names the key the entry goes under (vary discovery may have changed it).
    if (route.exposeKey && target !== null && target !== key && !res.headersSent) res.setHeader('X-Cache-Key', target);
    return () => {
      const storing = fill.redis ? storeEntry(r, target, encoded, keepMs, { ...req[FILL], path: requestPaths(req), tags }) : null;
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
    const conditionFailed = (err) => r.report(new ConditionError(
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

  // The handler validated the entry (304): the entry is refreshed and the client served from it
  // (its own 304 when its withheld conditions match), then the refreshed entry is stored.
  function answerRevalidated() {
    const now = r.clock.now();
    let refreshed = null;
    try {
      refreshed = refreshedEntry(r, res, revalidating, { requestTime, responseTime: now });
    } catch (err) {
      r.report(new StoreError(`the revalidated entry for "${key}" cannot be stored: ${err.message}`, { cause: err }));
    }
    if (refreshed === null) debug('not storing %s: the 304 that validated it says no-store or sets a cookie', key);
    const tags = refreshed === null || refreshed.keepMs < 1 ? null : entryTags();
    const served = refreshed === null ? revalidating : decodeStored(refreshed.encoded);
    res.statusCode = served.status;
    res.removeHeader('etag'); // a gzip entry's variants carry their own
    try {
      serveHit(r, req, res, served, key, false, 'REVALIDATED');
    } finally {
      if (tags !== null && !res.hasHeader('set-cookie')) {
        const storing = fill.redis
          ? storeEntry(r, key, refreshed.encoded, refreshed.keepMs, { ...req[FILL], path: requestPaths(req), tags }) : null;
        finishFill(refreshed.encoded, storing);
      }
      finishFill(null);
    }
    return res;
  }

  res.end = function end(chunk, encoding) {
    res.write = originalWrite;
    res.end = originalEnd;
    if (dropValidators !== null) {
      dropValidators();
      releaseWriteHead();
      if (res.statusCode === 304 && !res.headersSent) return answerRevalidated();
    }
    add(chunk, encoding, false);
    const args = arguments;
    let pending;
    try {
      pending = decide();
    } catch (err) {
      r.report(new StoreError(`storing the response for "${key}" failed: ${err.message}`, { cause: err }));
    }
    if (!isThenable(pending)) return endThenStore(args, pending);
    pending.then((commit) => commit, (err) => { r.report(err); })
      .then((commit) => endThenStore(args, commit))
      .catch((err) => r.report(err)); // end() refused what the handler gave it
    return this;
  };

  return { abort: () => finishFill(null) };
}


module.exports = { captureResponse, isThenable };
