'use strict';

// Validators and conditional requests (RFC 9110 sections 8.8 and 13): every stored entry has an
// ETag, HITs answer If-None-Match / If-Modified-Since with 304, and a MISS hides the client's
// conditions from the handler (so the full response is produced and stored) while the client
// still gets its 304.
const crypto = require('crypto');

/**
 * A weak ETag from the body bytes, for responses whose handler set none (as Express's own are):
 * weak, because a compression layer mounted before the cache sends these same bytes gzipped or
 * not under this one tag, and a strong tag must differ between encodings (RFC 9110 8.8.1).
 */
function bodyEtag(body) {
  return `W/"${crypto.createHash('sha1').update(body).digest('base64url')}"`;
}

function opaque(tag) {
  const t = tag.trim();
  return t.startsWith('W/') ? t.slice(2) : t;
}

/**
 * Whether a request's conditions say its cached representation is still current.
 * If-None-Match (weak comparison, lists, "*") wins; If-Modified-Since counts only without it.
 * @param {{ ifNoneMatch?: string, ifModifiedSince?: string }} conditions
 * @param {string|undefined} etag
 * @param {string|undefined} lastModified
 */
function notModified(conditions, etag, lastModified) {
  const { ifNoneMatch, ifModifiedSince } = conditions;
  if (ifNoneMatch !== undefined) {
    if (etag === undefined) return ifNoneMatch.trim() === '*';
    if (ifNoneMatch.trim() === '*') return true;
    const mine = opaque(etag);
    return ifNoneMatch.split(',').some((tag) => opaque(tag) === mine);
  }
  if (ifModifiedSince !== undefined && lastModified !== undefined) {
    const since = Date.parse(ifModifiedSince);
    const modified = Date.parse(lastModified);
    return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
  }
  return false;
}

/** The request's conditions, or null when it has none. */
function conditionsOf(req) {
  const ifNoneMatch = req.headers['if-none-match'];
  const ifModifiedSince = req.headers['if-modified-since'];
  if (ifNoneMatch === undefined && ifModifiedSince === undefined) return null;
  return { ifNoneMatch, ifModifiedSince };
}

/** Removes the conditions from the request the handler sees; returns them (or null). */
function withholdConditions(req) {
  const conditions = conditionsOf(req);
  if (conditions !== null) {
    delete req.headers['if-none-match'];
    delete req.headers['if-modified-since'];
  }
  return conditions;
}

// What a 304 keeps of the full response (RFC 9110 section 15.4.5). The stored Date is the one a
// 200 from the entry would carry (RFC 9111 3.1); without one (a numeric-ttl route) Node adds its own.
const KEPT_ON_304 = new Set(['date', 'etag', 'cache-control', 'vary', 'expires', 'content-location', 'last-modified']);

/** Flat stored headers → those a 304 carries. */
function headersFor304(flat) {
  const kept = [];
  for (let i = 0; i < flat.length; i += 2) if (KEPT_ON_304.has(flat[i])) kept.push(flat[i], flat[i + 1]);
  return kept;
}

function headerOf(flat, name) {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

module.exports = { bodyEtag, notModified, conditionsOf, withholdConditions, headersFor304, headerOf };
