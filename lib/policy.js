'use strict';

// The HTTP rules of the cache, as pure functions over req/res so users can compose them: the
// default key, which responses may be stored, and which headers an entry keeps.
const binding = require('./binding');

// Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection, never a stored response;
// Content-Length is recomputed from the stored body; X-Cache* are ours and set per request.
const NOT_STORED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'set-cookie', 'date',
  'x-cache', 'x-cache-key',
]);

/**
 * The default key: `${prefix}:${sha256}` over the method (HEAD as GET), the Host header, the full
 * path as requested (req.baseUrl + req.path, still percent-encoded) and the query parameters in
 * canonical order. Computed natively; see README "Keys".
 * @param {import('http').IncomingMessage & { originalUrl?: string }} req
 * @param {string} prefix
 * @returns {string}
 */
function defaultKeyBuilder(req, prefix) {
  const url = req.originalUrl || req.url || '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const host = req.headers.host || '';
  return `${prefix}:${binding.requestKey(method, host, path, query, [])}`;
}

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
  if (directives.has('private')) return 'Cache-Control: private';
  const vary = res.getHeader('vary');
  if (vary !== undefined && String(vary).split(',').some((v) => v.trim() === '*')) return 'Vary: *';
  if (!route.keyBuilder && (req.headers.authorization !== undefined || req.headers.cookie !== undefined)
    && !sharedExplicitly(directives)) {
    return 'the request carried credentials and the response is not marked public';
  }
  return null;
}

/** RFC 9111 section 3.5: what lets a shared cache answer a request that carried Authorization. */
function sharedExplicitly(directives) {
  return directives.has('public') || directives.has('s-maxage') || directives.has('must-revalidate');
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

module.exports = { defaultKeyBuilder, unstorableReason, storedHeaders, cacheControlDirectives, credentialed,
  entrySharedExplicitly, NOT_STORED };
