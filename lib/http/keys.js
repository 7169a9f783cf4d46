'use strict';

// The built-in request key and the key builders users compose (pure functions over req): which
// requests share an entry. See docs/api.md "keys" and README "Security".
const binding = require('../binding');

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

module.exports = { wellFormed, canonicalQuery, queryPart, defaultKeyBuilder, varyPairs, keys, PER_USER, BUILTIN_KEY };
