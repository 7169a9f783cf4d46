'use strict';

// Compression of stored entries (the cache option `compress`). One stored encoding, gzip, made
// with Node's own zlib: nearly every client accepts gzip, so nearly every HIT goes out exactly as
// stored, with no work; a client that does not accept it gets the body gunzipped once. An entry
// compressed here carries what its identity variant needs (length and ETag) in the entry's
// metadata (meta.gzip), never as a header. Bodies that arrived already encoded (a
// Content-Encoding set by the handler, or by a compression middleware mounted after the cache)
// are not stored at all: see README "Compression".
const zlib = require('zlib');

const GZIP_LEVEL = 6;

// What is worth compressing: text and the structured text formats. Images, video, audio, archives
// and fonts are compressed already (SVG, being XML, is text).
const COMPRESSIBLE = /^(?:text\/[^;\s]+|application\/(?:json|javascript|x-javascript|ecmascript|xml|xhtml\+xml|rss\+xml|atom\+xml|x-www-form-urlencoded|graphql|ld\+json|wasm)|[^/;\s]+\/[^;\s]+\+(?:json|xml))\s*(?:;|$)/i;

function compressible(contentType) {
  return typeof contentType === 'string' && COMPRESSIBLE.test(contentType.trim());
}

function headerValue(headers, name) {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

/** The ETag of the gzip variant: the identity ETag with "-gzip" inside its quotes. */
function gzipEtag(etag) {
  if (typeof etag !== 'string' || !/^(?:W\/)?"[^"]*"$/.test(etag)) return null;
  return `${etag.slice(0, -1)}-gzip"`;
}

/** Whether a Cache-Control value forbids changing the representation (RFC 9111 5.2.2.6). */
function noTransform(headers) {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'cache-control' && /(?:^|,)\s*no-transform\s*(?:,|=|$)/i.test(headers[i + 1])) return true;
  }
  return false;
}

/**
 * The headers and body to store for a response the cache captured, or null when it must not be
 * stored because its bytes were encoded before the cache saw them.
 * @param {string[]} headers storedHeaders(res): flat, lowercased names
 * @param {Buffer} body the bytes the cache saw
 * @param {string|undefined} seenEncoding the Content-Encoding header when the cache first saw the
 *   response (before passing it on): the encoding of `body`. A Content-Encoding present only at
 *   store time was set by a layer between the cache and the socket (a compression middleware
 *   mounted before the cache) and describes bytes the cache never saw, so it is not stored.
 * @param {{ threshold: number } | null} compress
 * @returns {{ headers: string[], body: Buffer, gzip?: { length: number, etag: string } } | null} gzip:
 *   the identity variant's length and ETag ('' when none), for the entry's metadata
 */
function prepareEntry(headers, body, seenEncoding, compress) {
  if (seenEncoding !== undefined && String(seenEncoding).trim().toLowerCase() !== 'identity') return null;
  let flat = headers;
  if (flat.includes('content-encoding')) {
    flat = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] !== 'content-encoding') flat.push(headers[i], headers[i + 1]);
    }
  }
  if (compress === null || body.length < compress.threshold || body.length === 0
    || !compressible(headerValue(flat, 'content-type')) || noTransform(flat)) {
    return { headers: flat, body };
  }
  const gz = zlib.gzipSync(body, { level: GZIP_LEVEL });
  if (gz.length >= body.length) return { headers: flat, body };
  const out = [];
  let etag;
  let varied = false;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i];
    let value = flat[i + 1];
    if (name === 'etag') {
      etag = value;
      const derived = gzipEtag(value);
      if (derived === null) continue; // not a well-formed ETag: the gzip variant goes without one
      value = derived;
    } else if (name === 'vary') {
      if (value.split(',').some((v) => v.trim().toLowerCase() === 'accept-encoding')) varied = true;
      else if (!varied) {
        value = `${value}, Accept-Encoding`;
        varied = true;
      }
    }
    out.push(name, value);
  }
  if (!varied) out.push('vary', 'Accept-Encoding');
  out.push('content-encoding', 'gzip');
  return { headers: out, body: gz, gzip: { length: body.length, etag: etag === undefined ? '' : etag } };
}

/** q-value of an Accept-Encoding member ("gzip;q=0.5"), 1 when absent, 0 when malformed. */
function qValue(params) {
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
    const q = Number(param.slice(eq + 1).trim());
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
  }
  return 1;
}

/**
 * Whether the request's Accept-Encoding accepts gzip (RFC 9110 12.5.3): an explicit gzip (or
 * x-gzip) with q > 0, else "*" with q > 0. No header at all is answered with identity, as the
 * compression middleware and most servers do.
 * @param {import('http').IncomingMessage} req
 */
function acceptsGzip(req) {
  const header = req.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  let star = 0;
  let gzip = -1;
  for (const member of header.split(',')) {
    const [coding, ...params] = member.split(';');
    const name = coding.trim().toLowerCase();
    if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip, qValue(params));
    else if (name === '*') star = qValue(params);
  }
  return gzip === -1 ? star > 0 : gzip > 0;
}

/**
 * What to send for a stored entry: the entry itself, unless it was compressed by the cache and the
 * request does not accept gzip, in which case the identity variant (gunzipped body, identity ETag,
 * no Content-Encoding). For HEAD the body is not decompressed: `length` says how long it would be.
 * @returns {{ headers: string[], body: Buffer | null, length: number }}
 */
function variantFor(req, entry) {
  const h = entry.headers;
  const gzip = entry.meta.gzip;
  if (gzip === undefined) return { headers: h, body: entry.body, length: entry.body.length };
  const gzipped = acceptsGzip(req);
  if (gzipped) return { headers: h, body: entry.body, length: entry.body.length };
  const identityLength = gzip.length;
  const identityEtag = gzip.etag;
  const headers = [];
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i];
    if (name === 'content-encoding') continue;
    if (name === 'etag') continue;
    headers.push(name, h[i + 1]);
  }
  if (identityEtag !== '') headers.push('etag', identityEtag);
  if (req.method === 'HEAD') return { headers, body: null, length: identityLength };
  // Bounded by the length recorded at store time: a planted entry cannot inflate without limit.
  const body = zlib.gunzipSync(entry.body, { maxOutputLength: Math.max(1, identityLength) });
  return { headers, body, length: body.length };
}

module.exports = { prepareEntry, variantFor, acceptsGzip, compressible, GZIP_LEVEL };
