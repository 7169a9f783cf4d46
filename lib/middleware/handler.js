'use strict';

// Letting the route's handler run: as a MISS whose response is captured for the store (and for
// the requests waiting on it), or as a BYPASS that the cache only labels.
const debug = require('debug')('respcache');
const { withholdConditions } = require('../http/validators');
const { setCacheHeaders, routeHeaders, CONDITIONS } = require('./serve');
const { captureResponse } = require('./capture');
const { REFRESH } = require('./refresh');

// Where a handler's response goes: a fill that only stores it, or nowhere (not captured at all).
// Coalescing leaders get fills of their own (lib/middleware/coalesce.js).
const STORE_ONLY = Object.freeze({ redis: true, done() {} });
const NOWHERE = null;
// Methods that do not change state (RFC 9110 section 9.2.1).
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * Lets the handler run; its response is captured when it may be stored or handed over.
 * ctx: { key, keying (vary discovery, built-in key only), fallback (a stale-if-error entry),
 * revalidate (ttl: 'http' routes: the entry the handler's run validates, revalidate.js) }.
 */
function runHandler(r, req, res, next, key, verdict, fill, ctx) {
  if (req[REFRESH] === undefined) r.reporter.outcome(req, verdict === 'MISS' ? 'miss' : 'bypass');
  setCacheHeaders(res, verdict, key, r.route);
  routeHeaders(res, r.route);
  let capture = null;
  if (fill !== NOWHERE && req.method !== 'HEAD') {
    // The handler must produce the full response to be stored; the client still gets its 304.
    req[CONDITIONS] = withholdConditions(req);
    const storeKey = ctx.keying === null ? null
      : (ttlMs, record) => r.varyRecords.storeKey(req, res, ctx.keying, ttlMs, record);
    const revalidating = ctx.revalidate !== undefined && ctx.revalidate !== null && req.method === 'GET' ? ctx.revalidate : null;
    capture = captureResponse(r, req, res, key, fill, storeKey, revalidating);
  }
  if (ctx.fallback !== null) ctx.fallback.watch(capture);
  next();
}

/** The handler answers and the cache stays out of it (X-Cache: BYPASS). */
function bypass(r, req, res, next, key, why) {
  r.reporter.outcome(req, 'bypass');
  debug('bypass %s: %s', key === undefined ? '' : key, why);
  setCacheHeaders(res, 'BYPASS', key, r.route);
  if (SAFE_METHODS.has(req.method)) routeHeaders(res, r.route);
  next();
}

module.exports = { runHandler, bypass, STORE_ONLY, NOWHERE, SAFE_METHODS };
