'use strict';

// The HTTP rules of the cache, as pure functions over req/res so users can compose them: the
// default key, which responses may be stored, and which headers an entry keeps.
const binding = require('./binding');

// Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection, never a stored response;
// Content-Length is recomputed from the stored body; X-Cache* are ours and set per request.
// An entry of a versioned namespace carries the version it was stored under as its first header
// pair, stripped when the entry is read; a handler's header of that name is never stored.
const NS_HEADER = 'x-respcache-ns';
const NOT_STORED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'set-cookie', 'date',
  'x-cache', 'x-cache-key', 'x-respcache-ns',
]);

// A parsed query deeper or larger than this is not keyed (the request bypasses the cache):
// Express's parsers stay far below it, and a custom parser's cyclic result must not hang a request.
const MAX_QUERY_DEPTH = 32;
const MAX_QUERY_NODES = 10000;

/** Whether `text` holds no lone UTF-16 surrogate, i.e. converts to UTF-8 without loss. */
const wellFormed = typeof String.prototype.isWellFormed === 'function'
  ? (text) => text.isWellFormed()
  : (text) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

/**
 * req.query as canonical text: equal exactly when the two values are deep-equal, with the order of
 * an object's keys ignored (arrays keep theirs). Strings go through JSON.stringify, which quotes
 * them and escapes lone surrogates, so the text is unambiguous and converts to UTF-8 losslessly.
 * Throws on values a query parser does not produce (functions, symbols, class instances other
 * than Date) and on cycles or excessive size, so such a request is not cached at all.
 * @param {unknown} query
 * @returns {string}
 */
function canonicalQuery(query) {
  let nodes = 0;
  const walk = (value, depth) => {
    if (++nodes > MAX_QUERY_NODES || depth > MAX_QUERY_DEPTH) {
      throw new Error('req.query is too large or too deep to key');
    }
    switch (typeof value) {
      case 'string': return JSON.stringify(value);
      case 'number': return Object.is(value, -0) ? 'n-0' : `n${value}`;
      case 'boolean': return value ? 'T' : 'F';
      case 'undefined': return 'U';
      case 'bigint': return `b${value}`;
      case 'object': {
        if (value === null) return 'N';
        if (Array.isArray(value)) {
          let out = '[';
          // A hole (a sparse array from a custom parser) is not an explicit undefined.
          for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + (i in value ? walk(value[i], depth + 1) : 'H');
          return `${out}]`;
        }
        if (value instanceof Date) return `d${value.getTime()}`;
        const proto = Object.getPrototypeOf(value);
        if (proto !== null && proto !== Object.prototype) {
          throw new Error(`req.query holds a ${value.constructor ? value.constructor.name : 'non-plain'} object, which the built-in key cannot compare`);
        }
        const names = Object.keys(value).sort();
        let out = '{';
        for (let i = 0; i < names.length; i++) {
          out += `${i ? ',' : ''}${JSON.stringify(names[i])}:${walk(value[names[i]], depth + 1)}`;
        }
        return `${out}}`;
      }
      default:
        throw new Error(`req.query holds a ${typeof value}, which the built-in key cannot compare`);
    }
  };
  return walk(query, 0);
}

/**
 * The query part of the key: req.query as canonical text, or null to key the raw "?..." part as
 * sent. Raw when there is no req.query (not an Express request), and when req.query is empty
 * although the target has a query string: the app (or an app above the one handling the request)
 * turned its parser off, or its parser dropped everything, so the handler may read the raw query.
 */
function queryPart(req, target) {
  const query = req.query;
  if (query === undefined || query === null || typeof query !== 'object') return null;
  if (Object.keys(query).length > 0) return canonicalQuery(query);
  // The query string is what follows a '?' that comes before any '#'.
  const q = target.indexOf('?');
  const hash = target.indexOf('#');
  if (q === -1 || (hash !== -1 && hash < q)) return '{}';
  return (hash === -1 ? target.length : hash) > q + 1 ? null : '{}';
}

/**
 * The default key: `${prefix}:${sha256}` over the method (HEAD as GET), the Host header (case
 * ignored), the request target's path exactly as sent (req.originalUrl up to its first "?" or "#",
 * mount path included, never decoded), whether Express parses that target with its fallback URL
 * parser (a "#" or whitespace in it), the path Express routes on (req.baseUrl + req.path) where it
 * is not that (code before the cache rewrote req.url), and the query as the app parsed it
 * (req.query, compared deep-equal, key order ignored; see queryPart for when the raw query is
 * keyed instead). Computed natively; see README "Keys".
 * @param {import('http').IncomingMessage & { originalUrl?: string, query?: unknown, baseUrl?: string, path?: string }} req
 * @param {string} prefix
 * @returns {string}
 */
function defaultKeyBuilder(req, prefix, vary) {
  const target = req.originalUrl || req.url || '/';
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const host = req.headers.host || '';
  let routed = typeof req.path === 'string' ? (req.baseUrl || '') + req.path : null;
  // The common case, no rewrite: the routed path is the target's own (the core would drop it).
  if (routed !== null && target.startsWith(routed)
    && (target.length === routed.length || target[routed.length] === '?')) routed = null;
  const query = queryPart(req, target);
  const headers = vary ? varyPairs(req, vary) : [];
  if (!wellFormed(target) || !wellFormed(host) || !wellFormed(method) || (routed !== null && !wellFormed(routed))
    || !headers.every(wellFormed)) {
    // Only code that rewrites the request can get here (Node decodes request heads as latin1).
    throw new Error('the request target, method, Host or a varied header holds a lone UTF-16 surrogate');
  }
  return `${prefix}:${binding.requestKey(method, host, target, routed, query, headers)}`;
}

/**
 * The varied request headers as a flat [name, value, ...] list: names lowercased, values with
 * runs of whitespace collapsed and trimmed, repeated headers joined with ", ", absent ones ''.
 */
function varyPairs(req, names) {
  const flat = [];
  for (const name of names) {
    const raw = req.headers[name];
    const value = raw === undefined ? '' : (Array.isArray(raw) ? raw.join(', ') : String(raw));
    flat.push(name, value.replace(/\s+/g, ' ').trim());
  }
  return flat;
}

const PER_USER = Symbol('respcache.perUser');
// On keys.default and keys.withHeaders(names): the header names the built-in key adds. A route
// given one of them uses the built-in key itself (lib/options.js), with all of its rules.
const BUILTIN_KEY = Symbol('respcache.builtinKey');

const defaultKey = (req, prefix) => defaultKeyBuilder(req, prefix);
defaultKey[BUILTIN_KEY] = Object.freeze([]);

/** Built-in key builders, to pass as a route's keyBuilder. */
const keys = {
  /** The built-in key (what a route without keyBuilder uses); a route given it is such a route. */
  default: defaultKey,
  /**
   * One entry per user: the built-in key under `${prefix}:u:<sha256 of the id>`. A request for
   * which getUserId returns null, undefined or '' is not cached (BYPASS). Routes keyed this way may
   * store responses marked Cache-Control: private, and requests with credentials use them.
   * An id that is not a string, a finite number or a bigint (an object, say) fails the key
   * (BYPASS): its text would be the same for every user. getUserId may return a Promise of the id.
   * @param {(req: object) => string|number|bigint|null|undefined|Promise<string|number|bigint|null|undefined>} getUserId
   */
  perUser(getUserId) {
    if (typeof getUserId !== 'function') throw new TypeError('Expected keys.perUser(getUserId) to be given a function');
    const keyOf = (id, req, prefix) => {
      if (id === undefined || id === null || id === '') throw new Error('keys.perUser: no user id for this request');
      if (typeof id !== 'string' && typeof id !== 'bigint' && !(typeof id === 'number' && Number.isFinite(id))) {
        throw new TypeError(`keys.perUser: the user id must be a string, a finite number or a bigint, not ${
          id !== null && typeof id === 'object' ? 'an object' : typeof id}`);
      }
      if (!wellFormed(String(id))) throw new Error('keys.perUser: the user id holds a lone UTF-16 surrogate');
      return defaultKeyBuilder(req, `${prefix}:u:${binding.hashKey([String(id)])}`);
    };
    const builder = (req, prefix) => {
      const id = getUserId(req);
      return id !== null && typeof id === 'object' && typeof id.then === 'function'
        ? Promise.resolve(id).then((resolved) => keyOf(resolved, req, prefix))
        : keyOf(id, req, prefix);
    };
    builder[PER_USER] = true;
    return builder;
  },
  /**
   * The built-in key plus the values of the named request headers.
   * @param {string[]} names
   */
  withHeaders(names) {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(n))) {
      throw new TypeError('Expected keys.withHeaders(names) to be given an array of header names');
    }
    const lower = [...new Set(names.map((n) => n.toLowerCase()))].sort();
    const builder = (req, prefix) => defaultKeyBuilder(req, prefix, lower);
    // As a route's keyBuilder it is `vary: names` on the built-in key (lib/options.js).
    builder[BUILTIN_KEY] = Object.freeze(lower);
    return builder;
  },
};

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
 * The lifetime a response gives itself, for routes with ttl: 'http' (RFC 9111 section 4.2.1, as
 * a shared cache): s-maxage, else max-age, else Expires minus now, less the response's Age; without any of them, the
 * route's default ttl. 0 or less means: do not store.
 * @returns {number} milliseconds
 */
function httpLifetimeMs(res, fallbackMs) {
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
    return Number.isFinite(at) ? at - Date.now() - age : 0;
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

/** Whether a stored entry (flat headers) said it may be shared with any requester. */
function entrySharedExplicitly(headers) {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'cache-control' && sharedExplicitly(cacheControlDirectives(headers[i + 1]))) return true;
  }
  return false;
}

/**
 * The response headers an entry keeps, as a flat [name, value, ...] list (names lowercased,
 * repeated headers as repeated pairs).
 * @param {import('http').ServerResponse} res
 * @returns {string[]}
 */
function storedHeaders(res) {
  const headers = res.getHeaders();
  const connectionTokens = cacheControlDirectives(headers.connection);
  const flat = [];
  for (const name of Object.keys(headers)) {
    if (NOT_STORED.has(name) || connectionTokens.has(name)) continue;
    const value = headers[name];
    if (Array.isArray(value)) {
      for (const v of value) flat.push(name, String(v));
    } else if (value !== undefined) {
      flat.push(name, String(value));
    }
  }
  return flat;
}

// What setHeader accepts in a value: HTAB, visible ASCII, obs-text (U+0080..U+00FF).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Whether setHeader accepts `text` as a header value. */
function isHeaderValue(text) {
  return HEADER_VALUE.test(text);
}

module.exports = { BUILTIN_KEY, isHeaderValue, revalidationShared, canonicalQuery, wellFormed, cacheControlArguments, httpLifetimeMs, requestWantsFresh, keys, varyPairs, PER_USER, defaultKeyBuilder, unstorableReason, storedHeaders, cacheControlDirectives, credentialed,
  entrySharedExplicitly, NOT_STORED, NS_HEADER };
