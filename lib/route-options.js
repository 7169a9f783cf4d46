'use strict';

// The options of cache.middleware() / cacheResponse(), handled like the cache's own (lib/options.js):
// once, at setup, every value validated with an error naming the option, the result frozen.
const { wellFormed, BUILTIN_KEY } = require('./http/keys');
const { isHeaderValue } = require('./http/storability');
const { timing, isPlainObject, rejectUnknown, checkMs, checkPrefix, ROUTE_DEFAULTS, MAX_TTL_SECONDS,
  RETAIN_STALE_SECONDS } = require('./options');

const ROUTE_OPTIONS = ['ttl', 'keyPrefix', 'keyBuilder', 'condition', 'statuses', 'methods',
  'maxBodySize', 'exposeKey', 'coalesce', 'coalesceTimeout', 'lockTtl', 'vary', 'cacheControl',
  'honorRequestNoCache', 'staleWhileRevalidate', 'staleIfError', 'handlerTimeout', 'tags', 'namespace',
  'invalidates', 'front', 'heuristic', 'retainStale'];

// Methods whose responses depend only on the URL and headers; anything else needs a keyBuilder
// that looks at what the request carries, or two different bodies would share an entry.
const SAFE_METHODS = new Set(['GET', 'HEAD']);

function checkStatuses(value) {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError('Expected the "statuses" option to be a non-empty array of HTTP status codes');
  }
  for (const status of value) {
    if (typeof status !== 'number') {
      throw new TypeError('Expected the "statuses" option to hold HTTP status codes (numbers)');
    }
    if (!Number.isInteger(status) || status < 200 || status > 999) {
      throw new RangeError(`Expected the "statuses" option to hold final status codes, 200 to 999, got ${status}`);
    }
  }
  return new Set(value);
}

function checkMethods(value) {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError('Expected the "methods" option to be a non-empty array of HTTP method names');
  }
  const methods = new Set();
  for (const method of value) {
    if (typeof method !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) {
      throw new TypeError(`Expected the "methods" option to hold HTTP method names, got ${String(method)}`);
    }
    methods.add(method.toUpperCase());
  }
  // HEAD responses are not stored (no body): the GET that follows a HEAD MISS fills the entry.
  if (methods.has('HEAD') && !methods.has('GET')) throw new TypeError('Expected the "methods" option to hold GET where it holds HEAD');
  return methods;
}

/**
 * Validates and normalises cache.middleware() / cacheResponse() options.
 * @param {object} [options]
 * @param {string} cachePrefix the cache's keyPrefix, the default for the route's
 */
function routeOptions(options = {}, cachePrefix) {
  if (!isPlainObject(options)) {
    throw new TypeError('Expected the route options to be an object');
  }
  rejectUnknown(options, ROUTE_OPTIONS, 'cache.middleware()');
  const o = options;
  const httpTtl = o.ttl === 'http';
  const { ttlMs, coalesceTimeout, lockTtl } = timing(httpTtl ? { ...o, ttl: undefined } : o);
  if (o.keyBuilder !== undefined && typeof o.keyBuilder !== 'function') {
    throw new TypeError('Expected the "keyBuilder" option to be a function (req, prefix) => string | Promise<string>');
  }
  // keys.default / keys.withHeaders(names) are the built-in key (with `vary: names`), rules and all.
  const builtinVary = o.keyBuilder ? o.keyBuilder[BUILTIN_KEY] : undefined;
  const keyBuilder = builtinVary === undefined ? o.keyBuilder : undefined;
  if (o.condition !== undefined && typeof o.condition !== 'function') {
    throw new TypeError('Expected the "condition" option to be a function (req, res, body) => boolean | Promise<boolean>');
  }
  const statuses = o.statuses === undefined ? new Set(ROUTE_DEFAULTS.statuses) : checkStatuses(o.statuses);
  const methods = o.methods === undefined ? new Set(ROUTE_DEFAULTS.methods) : checkMethods(o.methods);
  if (!keyBuilder) {
    const unsafe = [...methods].filter((m) => !SAFE_METHODS.has(m));
    if (unsafe.length > 0) {
      throw new TypeError(`The "methods" option lists ${unsafe.join(', ')} without a "keyBuilder": ` +
        'the default key ignores the request body, so responses to different bodies would be shared');
    }
  }
  let maxBodySize = ROUTE_DEFAULTS.maxBodySize;
  if (o.maxBodySize !== undefined) {
    if (typeof o.maxBodySize !== 'number' || Number.isNaN(o.maxBodySize)) {
      throw new TypeError('Expected the "maxBodySize" option to be a number of bytes');
    }
    if (!Number.isInteger(o.maxBodySize) || o.maxBodySize < 0 || o.maxBodySize > 0x7fffffff) {
      throw new RangeError('Expected the "maxBodySize" option to be a whole number of bytes from 0 to 2147483647');
    }
    maxBodySize = o.maxBodySize;
  }
  if (o.exposeKey !== undefined && typeof o.exposeKey !== 'boolean') {
    throw new TypeError('Expected the "exposeKey" option to be a boolean');
  }
  let vary = null;
  if (o.vary !== undefined) {
    if (!Array.isArray(o.vary) || o.vary.some((n) => typeof n !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(n))) {
      throw new TypeError('Expected the "vary" option to be an array of request header names');
    }
    if (keyBuilder) {
      throw new TypeError('The "vary" option applies to the built-in key; with a "keyBuilder", include the headers in your key (see keys.withHeaders)');
    }
    vary = o.vary;
  }
  if (builtinVary !== undefined && builtinVary.length > 0) vary = [...(vary || []), ...builtinVary];
  if (vary !== null) {
    vary = Object.freeze([...new Set(vary.map((n) => n.toLowerCase()))].sort());
    if (vary.includes('*')) throw new RangeError('The "vary" option cannot hold "*"');
  }
  if (o.coalesce !== undefined && typeof o.coalesce !== 'boolean') {
    throw new TypeError('Expected the "coalesce" option to be a boolean');
  }
  const front = checkBoolean(o.front, 'front', false);
  if (front) {
    // The front lane computes the key before the app runs: only the built-in key, as sent.
    const why = keyBuilder ? 'a "keyBuilder"' : o.namespace !== undefined ? 'a "namespace"' : vary !== null ? '"vary" headers' : null;
    if (why !== null) throw new TypeError(`The "front" option needs the built-in key without ${why}: the front lane keys a request before the app runs`);
  }
  return Object.freeze({
    ttlMs,
    keyPrefix: o.keyPrefix === undefined ? cachePrefix : checkPrefix(o.keyPrefix),
    keyBuilder: keyBuilder || null,
    condition: o.condition || null,
    statuses,
    methods,
    maxBodySize,
    exposeKey: o.exposeKey === true,
    coalesce: o.coalesce === undefined ? ROUTE_DEFAULTS.coalesce : o.coalesce,
    vary,
    httpTtl,
    cacheControl: cacheControlOption(o.cacheControl),
    honorRequestNoCache: checkBoolean(o.honorRequestNoCache, 'honorRequestNoCache', false),
    tags: tagsOption(o.tags, 'tags', '(req, res) => string[]'),
    namespace: namespaceOption(o.namespace),
    invalidates: tagsOption(o.invalidates, 'invalidates', '(req, res) => string[] | { tags, paths }'),
    // null: the stored response's own stale-while-revalidate / stale-if-error decide.
    staleWhileRevalidateMs: checkWindow(o.staleWhileRevalidate, 'staleWhileRevalidate'),
    staleIfErrorMs: checkWindow(o.staleIfError, 'staleIfError'),
    handlerTimeout: o.handlerTimeout === undefined ? null : checkMs(o.handlerTimeout, 'handlerTimeout'),
    coalesceTimeout,
    lockTtl,
    front,
    heuristic: heuristicOption(o.heuristic, httpTtl, ttlMs),
    // Applied to entries with a validator only (storability.js retentionMs); 0 on numeric-ttl routes.
    retainStaleMs: o.retainStale === undefined ? (httpTtl ? RETAIN_STALE_SECONDS * 1000 : 0)
      : httpOnly(checkWindow(o.retainStale, 'retainStale'), 'retainStale', httpTtl),
  });
}

// RFC 9111 4.2.2 suggests 10% of the time since Last-Modified; a day caps it, as common caches do.
const HEURISTIC_DEFAULTS = Object.freeze({ fraction: 0.1, maxAge: 86400 });

/** An option that only a ttl: 'http' route reads: refused elsewhere rather than silently ignored. */
function httpOnly(value, name, httpTtl) {
  if (!httpTtl) throw new TypeError(`The "${name}" option applies to routes with ttl: 'http' only`);
  return value;
}

/**
 * The heuristic freshness of a ttl: 'http' route (RFC 9111 4.2.2), for responses without explicit
 * freshness: { fraction, maxMs, fallbackMs }. fallbackMs is the lifetime of one without a usable
 * Last-Modified: 300 s, the fixed value every such response got before the Last-Modified rule.
 */
function heuristicOption(value, httpTtl, fallbackMs) {
  if (value === undefined) {
    return httpTtl ? Object.freeze({ fraction: HEURISTIC_DEFAULTS.fraction, maxMs: HEURISTIC_DEFAULTS.maxAge * 1000, fallbackMs }) : null;
  }
  httpOnly(value, 'heuristic', httpTtl);
  if (!isPlainObject(value)) throw new TypeError('Expected the "heuristic" option to be an object { fraction, maxAge, fallback }');
  rejectUnknown(value, ['fraction', 'maxAge', 'fallback'], 'the "heuristic" option');
  let fraction = HEURISTIC_DEFAULTS.fraction;
  if (value.fraction !== undefined) {
    if (typeof value.fraction !== 'number' || Number.isNaN(value.fraction)) {
      throw new TypeError('Expected the "heuristic.fraction" option to be a number');
    }
    if (!(value.fraction >= 0 && value.fraction <= 1)) throw new RangeError('Expected the "heuristic.fraction" option to be from 0 to 1');
    fraction = value.fraction;
  }
  const maxMs = checkWindow(value.maxAge, 'heuristic.maxAge');
  const fallback = checkWindow(value.fallback, 'heuristic.fallback');
  return Object.freeze({
    fraction,
    maxMs: maxMs === null ? HEURISTIC_DEFAULTS.maxAge * 1000 : maxMs,
    fallbackMs: fallback === null ? fallbackMs : fallback,
  });
}

/** tags / invalidates: an array of non-empty strings, or a function computing them per request. */
function tagsOption(value, name, signature) {
  if (value === undefined) return null;
  if (typeof value === 'function') return value;
  if (!Array.isArray(value) || value.some((t) => typeof t !== 'string' || t.length === 0 || !wellFormed(t))) {
    throw new TypeError(`Expected the "${name}" option to be an array of non-empty, well-formed strings or a function ${signature}`);
  }
  return Object.freeze([...new Set(value)]);
}

function namespaceOption(value) {
  if (value === undefined) return null;
  if (typeof value === 'function') return value;
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024 || !wellFormed(value)) {
    throw new TypeError('Expected the "namespace" option to be a non-empty, well-formed string (at most 1024 characters) or a function (req) => string');
  }
  return value;
}

/** A stale window in seconds (0 or more) → milliseconds, or null when the option is absent. */
function checkWindow(value, name) {
  if (value === undefined) return null;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected the "${name}" option to be a number of seconds`);
  }
  if (!(value >= 0) || value > MAX_TTL_SECONDS) {
    throw new RangeError(`Expected the "${name}" option to be a number of seconds from 0 to ${MAX_TTL_SECONDS}`);
  }
  return Math.round(value * 1000);
}

function checkBoolean(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`Expected the "${name}" option to be a boolean`);
  return value;
}

const CACHE_CONTROL_FIELDS = ['public', 'private', 'maxAge', 'sMaxAge', 'mustRevalidate',
  'staleWhileRevalidate', 'staleIfError', 'noCache'];

/** The cacheControl route option → the header value sent to clients (or null). */
function cacheControlOption(value) {
  if (value === undefined) return null;
  if (typeof value === 'string') {
    if (value.trim() === '' || !isHeaderValue(value)) throw new TypeError('Expected the "cacheControl" option to be a non-empty header value');
    return value;
  }
  if (!isPlainObject(value)) throw new TypeError('Expected the "cacheControl" option to be a string or an object');
  rejectUnknown(value, CACHE_CONTROL_FIELDS, 'the "cacheControl" option');
  if (value.public && value.private) throw new TypeError('The "cacheControl" option cannot be both public and private');
  const parts = [];
  for (const [field, directive] of [['public', 'public'], ['private', 'private'], ['noCache', 'no-cache'],
    ['mustRevalidate', 'must-revalidate']]) {
    if (value[field] !== undefined && typeof value[field] !== 'boolean') {
      throw new TypeError(`Expected the "cacheControl.${field}" option to be a boolean`);
    }
    if (value[field]) parts.push(directive);
  }
  for (const [field, directive] of [['maxAge', 'max-age'], ['sMaxAge', 's-maxage'],
    ['staleWhileRevalidate', 'stale-while-revalidate'], ['staleIfError', 'stale-if-error']]) {
    if (value[field] === undefined) continue;
    if (typeof value[field] !== 'number' || !Number.isInteger(value[field]) || value[field] < 0 || value[field] > 2 ** 31) {
      throw new TypeError(`Expected the "cacheControl.${field}" option to be a whole number of seconds, at most 2^31`);
    }
    parts.push(`${directive}=${value[field]}`);
  }
  if (parts.length === 0) throw new TypeError('Expected the "cacheControl" option to hold at least one directive');
  return parts.join(', ');
}

module.exports = { routeOptions };
