'use strict';

// Revalidation on ttl: 'http' routes (RFC 9111 4.3): an entry that may not be served as it is
// (stale, or stored with Cache-Control: no-cache) has the handler run with the entry's validators
// as the request's conditions (4.3.1). A handler that answers 304 (Express does by itself when the
// ETag matches) has the entry's headers and lifetime refreshed (4.3.4, 3.2) and the client served
// the stored body; any other answer is a MISS like any other (lib/middleware/capture.js).
const binding = require('../binding');
const { revalidationHeaders, mergeNotModified } = require('../http/conditional');
const { cacheControlDirectives, storedHeaders, httpFreshness, retentionMs } = require('../http/storability');

// The request conditions revalidation sets (the client's own are withheld first: handler.js).
const CONDITION_NAMES = ['if-none-match', 'if-modified-since'];

/**
 * The headers a handler would produce for `entry` as the cache stores it: a gzip entry holds the
 * gzip variant's ETag, the handler produces the identity one (kept in the entry's meta).
 * @param {{ headers: string[], meta: { gzip?: { etag: string } } }} entry
 */
function identityHeaders(entry) {
  const gzip = entry.meta.gzip;
  if (gzip === undefined) return entry.headers;
  const headers = [];
  for (let i = 0; i < entry.headers.length; i += 2) {
    if (entry.headers[i] !== 'etag') headers.push(entry.headers[i], entry.headers[i + 1]);
  }
  if (gzip.etag !== '') headers.push('etag', gzip.etag);
  return headers;
}

/**
 * Sets the entry's validators on the request the handler sees (If-None-Match with its ETag,
 * If-Modified-Since with its Last-Modified). Returns the function that removes them again, once
 * the handler has answered: the client's own conditions (withheld in req[CONDITIONS]) are the
 * ones the answer to the client is judged by.
 * @param {import('http').IncomingMessage} req
 * @param {object} entry
 * @returns {() => void}
 */
function setValidators(req, entry) {
  const conditions = revalidationHeaders(identityHeaders(entry));
  Object.assign(req.headers, conditions);
  return () => {
    for (const name of CONDITION_NAMES) if (req.headers[name] === conditions[name]) delete req.headers[name];
  };
}

/**
 * Keeps a 304 the handler announces with res.writeHead (a handler on plain Node APIs) from going
 * out: its status and headers are set on the response instead, so that the capture layer can
 * still answer the client from the entry when the handler ends it. Returns the function that
 * lets writeHead through again (once the handler has ended its response).
 * @param {import('http').ServerResponse} res
 * @returns {() => void}
 */
function holdNotModified(res) {
  const inner = res.writeHead;
  let held = true;
  res.writeHead = function writeHead(status, reason, headers) {
    if (!held || Number(status) !== 304 || res.headersSent) return inner.apply(this, arguments);
    const fields = typeof reason === 'string' ? headers : reason;
    res.statusCode = 304;
    if (Array.isArray(fields)) {
      for (let i = 0; i + 1 < fields.length; i += 2) res.setHeader(fields[i], fields[i + 1]);
    } else if (fields !== null && typeof fields === 'object') {
      for (const name of Object.keys(fields)) res.setHeader(name, fields[name]);
    }
    return this;
  };
  return () => { held = false; };
}

/**
 * The entry refreshed by the handler's 304 (RFC 9111 4.3.4): the stored headers updated by the
 * 304's (mergeNotModified: Content-Length and Content-Encoding stay the stored ones; without a
 * Date of its own the 304 is dated `responseTime`), the stored status and body, and the new
 * freshness of the merged headers. For a gzip entry the stored (gzip) ETag and Vary stay: the
 * 304 matched the identity ETag the entry's meta keeps. Null when the updated response may not
 * be stored (no-store, Set-Cookie): the client is still served the body it validated.
 * @param {object} r the route context
 * @param {import('http').ServerResponse} res the handler's 304, headers not yet sent
 * @param {object} entry the decoded entry that was revalidated
 * @param {{ requestTime: number, responseTime: number }} times
 * @returns {{ encoded: Buffer, keepMs: number } | null}
 */
function refreshedEntry(r, res, entry, { requestTime, responseTime }) {
  if (res.hasHeader('set-cookie')) return null;
  let update = storedHeaders(res, { date: true });
  if (entry.meta.gzip !== undefined) update = update.filter((_v, i) => !['etag', 'vary'].includes(update[i - (i % 2)]));
  const merged = mergeNotModified(entry.headers, update, { responseTime, cdnCacheControl: false });
  for (let i = 0; i < merged.length; i += 2) {
    if (merged[i] === 'cache-control' && cacheControlDirectives(merged[i + 1]).has('no-store')) return null;
  }
  const { lifetimeMs, initialAgeMs } = httpFreshness(merged, entry.status, r.route, { requestTime, responseTime });
  const headers = merged.filter((_v, i) => merged[i - (i % 2)] !== 'age');
  const storedAt = responseTime - initialAgeMs;
  const keepMs = Math.floor(retentionMs(storedAt + lifetimeMs - responseTime, headers, r.route));
  const meta = entry.meta;
  const encoded = binding.encodeEntry(entry.status, headers, entry.body, storedAt, storedAt + lifetimeMs,
    { ns: meta.ns, gzip: meta.gzip, flags: meta.flags, route: meta.route });
  return { encoded, keepMs };
}

module.exports = { setValidators, holdNotModified, refreshedEntry, identityHeaders };
