'use strict';

// Answering from an entry (HIT, STALE, a coalesced HIT) and the X-Cache headers of every answer.
const { isHeaderValue } = require('../http/storability');
const { notModified, conditionsOf, headersFor304, headerOf } = require('../http/validators');
const { variantFor } = require('../http/compress');

// The conditions (If-None-Match, If-Modified-Since) withheld from the handler of a MISS.
const CONDITIONS = Symbol('respcache.conditions');

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
 * The route's Vary and Cache-Control for clients (a handler that sets its own Cache-Control
 * replaces it), on every answer to a read, cached or not: a route that says 'private' says it
 * also when its keyBuilder failed.
 */
function routeHeaders(res, route) {
  if (res.headersSent) return;
  if (route.vary !== null) addVary(res, route.vary);
  if (route.cacheControl !== null) res.setHeader('Cache-Control', route.cacheControl);
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
function serveHit(r, req, res, entry, key, coalesced, verdict = 'HIT') {
  const route = r.route;
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
  const age = String(Math.max(0, Math.floor((r.clock.now() - entry.storedAt) / 1000)));
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

module.exports = { serveHit, setCacheHeaders, routeHeaders, lastResort, CONDITIONS };
