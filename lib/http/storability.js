'use strict';

// Which responses may be stored, for how long, and which headers an entry keeps (RFC 9111),
// as pure functions over req/res so users can compose them; and the freshness of stored entries
// (stale-while-revalidate / stale-if-error windows, RFC 5861).
const { PER_USER } = require('./keys');
const { freshnessLifetime, initialAge } = require('./freshness');
const { fieldDate } = require('./http-date');

const LENIENT = { lenient: true };

// Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection, never a stored response;
// Content-Length is recomputed from the stored body; X-Cache* are ours and set per request.
const NOT_STORED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'set-cookie', 'date',
  'x-cache', 'x-cache-key',
]);

/** Directive names of a Cache-Control value, lowercased (arguments dropped). */
function cacheControlDirectives(value) {
  const names = new Set();
  if (value === undefined || value === null) return names;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name) names.add(name);
  }
  return names;
}

/**
 * The built-in storability rule, applied before the route's condition: the status is listed,
 * the response sets no cookie, Cache-Control does not say no-store or private, Vary is not "*",
 * and a request that carried credentials (Authorization or Cookie) under the default key is
 * stored only when the response says it may be shared (public, s-maxage or must-revalidate, as
 * RFC 9111 section 3.5 has it): the default key does not tell users apart, so without that
 * statement the response may be personal.
 * @param {import('http').IncomingMessage} req
 * @param {import('http').ServerResponse} res
 * @param {{ statuses: Set<number>, keyBuilder: Function|null }} route
 * @returns {string|null} null when storable, else the reason it is not
 */
function unstorableReason(req, res, route) {
  if (!route.statuses.has(res.statusCode)) return `status ${res.statusCode} is not in "statuses"`;
  if (res.hasHeader('set-cookie')) return 'the response sets a cookie';
  const directives = cacheControlDirectives(res.getHeader('cache-control'));
  if (directives.has('no-store')) return 'Cache-Control: no-store';
  if (directives.has('private') && !(route.keyBuilder && route.keyBuilder[PER_USER])) {
    return 'Cache-Control: private';
  }
  // Other Vary names are fine: the built-in key learns them (lib/vary.js), a keyBuilder owns its key.
  const vary = res.getHeader('vary');
  if (vary !== undefined && String(vary).split(',').some((v) => v.trim() === '*')) return 'Vary: *';
  if (!route.keyBuilder && (req.headers.authorization !== undefined || req.headers.cookie !== undefined)
    && !sharedExplicitly(directives)) {
    return 'the request carried credentials and the response is not marked public';
  }
  return null;
}

/** Cache-Control directives with their arguments: Map(lowercased name → argument or ''). */
function cacheControlArguments(value) {
  const args = new Map();
  if (value === undefined || value === null) return args;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name) args.set(name, eq === -1 ? '' : part.slice(eq + 1).trim().replace(/^"|"$/g, ''));
  }
  return args;
}

/**
 * The lifetime a response gives itself, as routes with a numeric ttl read it for a request with
 * credentials that the response ties to its own freshness (RFC 9111 section 3.5): s-maxage, else
 * max-age, else Expires minus now, less the response's Age; without any of them, `fallbackMs`.
 * 0 or less means: do not store. Routes with ttl: 'http' use httpFreshness (RFC 9111 4.2 in full).
 * @param {import('http').ServerResponse} res
 * @param {number} fallbackMs
 * @param {number} [now] the time Expires is compared with (ms)
 * @returns {number} milliseconds
 */
function httpLifetimeMs(res, fallbackMs, now = Date.now()) {
  const args = cacheControlArguments(res.getHeader('cache-control'));
  // The age the response already has (RFC 9111 section 4.2.3: an upstream's Age header) is spent
  // of its explicit freshness.
  const age = /^\d+$/.test(String(res.getHeader('age') ?? '').trim()) ? Number(String(res.getHeader('age')).trim()) * 1000 : 0;
  for (const name of ['s-maxage', 'max-age']) {
    if (args.has(name)) {
      const seconds = Number.parseInt(args.get(name), 10);
      return Number.isFinite(seconds) ? seconds * 1000 - age : 0;
    }
  }
  const expires = res.getHeader('expires');
  if (expires !== undefined) {
    const at = Date.parse(String(expires));
    return Number.isFinite(at) ? at - now - age : 0;
  }
  return fallbackMs;
}

/** Whether the request asks for a fresh answer (no-cache, max-age=0, Pragma: no-cache). */
function requestWantsFresh(req) {
  const args = cacheControlArguments(req.headers['cache-control']);
  if (args.has('no-cache') || args.get('max-age') === '0') return true;
  return req.headers['cache-control'] === undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(req.headers.pragma || '');
}

/** RFC 9111 section 3.5: what lets a shared cache answer a request that carried Authorization. */
function sharedExplicitly(directives) {
  return directives.has('public') || directives.has('s-maxage') || directives.has('must-revalidate');
}

/**
 * Whether a response holds a directive that ties a shared cache to the response's own freshness
 * (must-revalidate, proxy-revalidate or s-maxage), public or not: for a request with credentials
 * the cache then keeps it only that long.
 * @param {import('http').ServerResponse} res
 */
function revalidationShared(res) {
  const directives = cacheControlDirectives(res.getHeader('cache-control'));
  return directives.has('must-revalidate') || directives.has('proxy-revalidate') || directives.has('s-maxage');
}

/**
 * Whether a request carries credentials that the default key does not separate: such a request
 * is only answered from an entry whose response said it may be shared, and never waits on
 * another request's response.
 */
function credentialed(req, route) {
  return !route.keyBuilder && (req.headers.authorization !== undefined || req.headers.cookie !== undefined);
}

/** Whether a stored entry (flat headers) says Cache-Control: no-cache (usable only once revalidated). */
function entryNoCache(headers) {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'cache-control' && cacheControlDirectives(headers[i + 1]).has('no-cache')) return true;
  }
  return false;
}

/** Whether a stored entry (flat headers) said it may be shared with any requester. */
function entrySharedExplicitly(headers) {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'cache-control' && sharedExplicitly(cacheControlDirectives(headers[i + 1]))) return true;
  }
  return false;
}

/**
 * The response headers an entry keeps, as a flat [name, value, ...] list (names lowercased,
 * repeated headers as repeated pairs). `date`: keep the Date field (ttl: 'http' routes keep the
 * response's Date, RFC 9111 3.1 and RFC 9110 6.6.1; other routes send a fresh one on every HIT).
 * @param {import('http').ServerResponse} res
 * @param {{ date?: boolean }} [options]
 * @returns {string[]}
 */
function storedHeaders(res, { date = false } = {}) {
  const headers = res.getHeaders();
  const connectionTokens = cacheControlDirectives(headers.connection);
  const flat = [];
  for (const name of Object.keys(headers)) {
    if ((NOT_STORED.has(name) && !(date && name === 'date')) || connectionTokens.has(name)) continue;
    const value = headers[name];
    if (Array.isArray(value)) {
      for (const v of value) flat.push(name, String(v));
    } else if (value !== undefined) {
      flat.push(name, String(value));
    }
  }
  return flat;
}

/**
 * The freshness of a response a ttl: 'http' route stores (RFC 9111 4.2), from its headers as
 * stored plus its Date and Age: its lifetime (4.2.1: s-maxage, max-age, else Expires minus Date,
 * an invalid Expires meaning already expired, 5.3; else the heuristic of 4.2.2 for the statuses
 * RFC 9110 15.1 allows or a public response: route.heuristic.fraction of the time between
 * Last-Modified and Date, at most heuristic.maxMs, or heuristic.fallbackMs without a
 * Last-Modified before Date or with a fraction of 0), and the age it had when the handler gave it (4.2.3: its Age,
 * an upstream's, plus the time the handler took; and Date's distance from now, unless the cache
 * dated the response itself). The entry's storedAt is then responseTime - initialAgeMs, so that
 * now - storedAt is its current age, and its expiresAt storedAt + lifetimeMs.
 * @param {string[]} headers flat
 * @param {number} status
 * @param {{ heuristic: { fraction: number, maxMs: number, fallbackMs: number } }} route
 * @param {{ requestTime: number, responseTime: number, ownDate?: boolean, explicitOnly?: boolean }} times
 *   ownDate: the Date is the cache's (no apparent age); explicitOnly: no heuristic (lifetime 0)
 * @returns {{ lifetimeMs: number, initialAgeMs: number }}
 */
function httpFreshness(headers, status, route, { requestTime, responseTime, ownDate = false, explicitOnly = false }) {
  const h = route.heuristic;
  const { ms, source } = freshnessLifetime(headers, {
    status, shared: true, heuristicFraction: h.fraction, heuristicMaxMs: h.maxMs, cdnCacheControl: false, responseTime,
  });
  let lifetimeMs = ms;
  if (source === 'heuristic') {
    // Names in any case, as freshnessLifetime reads them (RFC 9111 4.2).
    let date = fieldDate(headers, 'date', undefined, LENIENT);
    if (Number.isNaN(date)) date = responseTime;
    if (explicitOnly) lifetimeMs = 0;
    else if (h.fraction === 0 || !(fieldDate(headers, 'last-modified', undefined, LENIENT) < date)) lifetimeMs = h.fallbackMs;
  }
  const aged = ownDate ? headers.filter((_v, i) => headers[i - (i % 2)] !== 'date') : headers;
  return { lifetimeMs, initialAgeMs: initialAge(aged, requestTime, responseTime) };
}

// What setHeader accepts in a value: HTAB, visible ASCII, obs-text (U+0080..U+00FF).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Whether setHeader accepts `text` as a header value. */
function isHeaderValue(text) {
  return HEADER_VALUE.test(text);
}

const NO_WINDOWS = Object.freeze({ whileRevalidateMs: 0, ifErrorMs: 0 });
const MAX_WINDOW_MS = 10 * 365 * 86400000;

/** A delta-seconds directive argument as milliseconds (0 when absent or malformed). */
function directiveMs(value) {
  if (value === undefined || !/^\d+$/.test(value)) return 0;
  return Math.min(Number(value) * 1000, MAX_WINDOW_MS);
}

/**
 * The stale windows of a response, in milliseconds: the route's staleWhileRevalidate /
 * staleIfError when it sets them, else the response's own stale-while-revalidate /
 * stale-if-error directives, else 0. Both are 0 when the response forbids being served stale:
 * must-revalidate, proxy-revalidate or no-cache, or s-maxage (which implies proxy-revalidate in
 * a shared cache, RFC 9111 section 5.2.2.10) unless the same response grants a stale window.
 * @param {string|string[]|undefined} cacheControl the response's Cache-Control value(s)
 * @param {{ staleWhileRevalidateMs: number|null, staleIfErrorMs: number|null }} route
 * @returns {{ whileRevalidateMs: number, ifErrorMs: number }}
 */
function staleWindows(cacheControl, route) {
  const args = cacheControlArguments(cacheControl);
  if (args.has('must-revalidate') || args.has('proxy-revalidate') || args.has('no-cache')) return NO_WINDOWS;
  // Only a window of at least a second grants one ("stale-if-error=0" grants nothing).
  if (args.has('s-maxage') && !(directiveMs(args.get('stale-while-revalidate')) > 0)
    && !(directiveMs(args.get('stale-if-error')) > 0)) return NO_WINDOWS;
  return {
    whileRevalidateMs: route.staleWhileRevalidateMs !== null
      ? route.staleWhileRevalidateMs : directiveMs(args.get('stale-while-revalidate')),
    ifErrorMs: route.staleIfErrorMs !== null ? route.staleIfErrorMs : directiveMs(args.get('stale-if-error')),
  };
}

/** The Cache-Control values of flat stored headers. */
function storedCacheControl(headers) {
  const values = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'cache-control') values.push(headers[i + 1]);
  return values;
}

/**
 * Where an entry stands at `now`: 'fresh' (before expiresAt), 'revalidate' (inside its
 * stale-while-revalidate window), 'if-error' (inside its stale-if-error window) or 'expired'.
 * @param {{ headers: string[], expiresAt: number }} entry
 * @param {{ staleWhileRevalidateMs: number|null, staleIfErrorMs: number|null }} route
 * @param {number} now
 */
function staleState(entry, route, now) {
  if (entry.expiresAt > now) return 'fresh';
  const windows = staleWindows(storedCacheControl(entry.headers), route);
  const late = now - entry.expiresAt;
  if (late < windows.whileRevalidateMs) return 'revalidate';
  if (late < windows.ifErrorMs) return 'if-error';
  return 'expired';
}

/**
 * Whether a response carries a validator of its own (ETag, Last-Modified): only then can running
 * the handler with its conditions answer 304. For a MISS, read before the cache adds the ETag it
 * computes from the body, which the handler would not recognise.
 * @param {import('http').ServerResponse|string[]} res the response, or its flat headers
 */
function hasValidator(res) {
  if (Array.isArray(res)) return res.some((v, i) => i % 2 === 0 && (v === 'etag' || v === 'last-modified'));
  return res.hasHeader('etag') || res.hasHeader('last-modified');
}

/**
 * How long Redis keeps an entry: its freshness lifetime plus the longer stale window; on a
 * ttl: 'http' route, for a response with a validator, `retainStale` longer again (and at least
 * that long, for a response stale already), so that it can be revalidated once stale.
 * @param {number} ttlMs what is left of its freshness (negative: stale already)
 * @param {import('http').ServerResponse|string[]} res the response being stored, or its flat headers
 * @param {object} route
 */
function retentionMs(ttlMs, res, route) {
  const windows = staleWindows(Array.isArray(res) ? storedCacheControl(res) : res.getHeader('cache-control'), route);
  const keep = ttlMs + Math.max(windows.whileRevalidateMs, windows.ifErrorMs);
  return route.retainStaleMs > 0 && hasValidator(res) ? Math.max(keep, 0) + route.retainStaleMs : keep;
}

module.exports = { NOT_STORED, entryNoCache, cacheControlDirectives, cacheControlArguments, unstorableReason, httpLifetimeMs,
  requestWantsFresh, sharedExplicitly, revalidationShared, credentialed, entrySharedExplicitly, storedHeaders, isHeaderValue,
  staleWindows, staleState, retentionMs, httpFreshness };
