'use strict';

// Request paths as the cache indexes them: the normal form every spelling of a path shares, the
// index suffixes an entry is listed under, and what an invalidatePath argument names.
const { InvalidArgumentError } = require('../errors');

// Paths with more directory levels than this are not stored (each level is one index write).
const MAX_PATH_DEPTH = 32;

// Paths are indexed, and invalidatePath arguments looked up, in one normal form that merges every
// spelling Express may route to the same handler with the same parameters: an invalidation that
// reaches more than the written path costs a refill, one that misses a spelling serves stale data.
// Express routes case-insensitively and with or without a trailing slash, on the path after an
// absolute-form target's authority, and decodes every escape in a parameter ('/users/a*b' and
// '/users/a%2Ab' are both id 'a*b'). Only '/' and '%2F' stay apart: they route differently.
// Bytes kept literal: the unreserved characters, the sub-delimiters but '*', ':' and '@' (RFC 3986
// pchar, less '*' so that the normal form never holds one and never reads as a '/*' prefix).
const LITERAL = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()+,;=:@") LITERAL[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';

function hexDigit(code) {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** One byte as in the normal form: a letter lowercased, literal if it may be, else escaped. */
function normalByte(byte) {
  const b = byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
  return b < 128 && LITERAL[b] === 1 ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
}

/**
 * The normal form of a path (starting with '/') that entries are indexed and invalidations looked
 * up in: escapes decoded where the byte may be literal, every other byte escaped in uppercase hex
 * (a '%' that starts no escape too; characters outside ASCII as their UTF-8, a lone UTF-16
 * surrogate as its three WTF-8 bytes, so no two strings share a form for want of UTF-8), ASCII
 * letters lowercased, trailing slashes dropped (but the root's). Normalising twice changes nothing.
 * @param {string} path
 * @returns {string}
 */
function normalisePath(path) {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (code === 0x2f) {
      out += '/';
    } else if (code === 0x25 && i + 2 < path.length && hexDigit(path.charCodeAt(i + 1)) >= 0 && hexDigit(path.charCodeAt(i + 2)) >= 0) {
      out += normalByte(hexDigit(path.charCodeAt(i + 1)) * 16 + hexDigit(path.charCodeAt(i + 2)));
      i += 2;
    } else if (code < 0x80) {
      out += normalByte(code);
    } else {
      // A lone surrogate comes back as itself, and is encoded like any code point below 0x10000.
      const cp = path.codePointAt(i);
      if (cp > 0xffff) i++;
      if (cp < 0x800) {
        out += normalByte(0xc0 | (cp >> 6)) + normalByte(0x80 | (cp & 0x3f));
      } else if (cp < 0x10000) {
        out += normalByte(0xe0 | (cp >> 12)) + normalByte(0x80 | ((cp >> 6) & 0x3f)) + normalByte(0x80 | (cp & 0x3f));
      } else {
        out += normalByte(0xf0 | (cp >> 18)) + normalByte(0x80 | ((cp >> 12) & 0x3f)) + normalByte(0x80 | ((cp >> 6) & 0x3f))
          + normalByte(0x80 | (cp & 0x3f));
      }
    }
  }
  let end = out.length;
  while (end > 1 && out.charCodeAt(end - 1) === 0x2f) end--;
  return end === out.length ? out : out.slice(0, end);
}

/**
 * An invalidatePath argument: '/exact/path', or '/dir/*' (every path under '/dir/', and '/dir'
 * itself, which is '/dir/' in normal form). A '*' anywhere else is literal.
 * @param {string} path
 * @returns {string[]} the index suffixes to drain: ['p:<path>'], or ['s:<dir>/', 'p:<dir>']
 */
function pathIndexes(path) {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidArgumentError(`Expected a path starting with "/", got ${typeof path === 'string' ? JSON.stringify(path) : typeof path}`);
  }
  if (path.includes('?')) throw new InvalidArgumentError(`Expected a path without a query string, got ${JSON.stringify(path)}`);
  if (!path.endsWith('/*')) return [`p:${normalisePath(path)}`];
  const dir = normalisePath(path.length === 2 ? '/' : path.slice(0, -2));
  return dir === '/' ? ['s:/'] : [`s:${dir}/`, `p:${dir}`];
}

/**
 * The index suffixes an entry stored for the path `requested` with `tags` is listed under, or null
 * when the path is too deep to index.
 * @param {string} requested a request path (requestPath gives it in normal form already)
 * @param {string[]} tags
 * @returns {string[] | null}
 */
function entryIndexes(requested, tags) {
  const suffixes = new Set();
  for (const one of Array.isArray(requested) ? requested : [requested]) {
    const path = normalisePath(one);
    suffixes.add(`p:${path}`);
    let slash = path.indexOf('/');
    let depth = 0;
    while (slash !== -1) {
      if (++depth > MAX_PATH_DEPTH) return null;
      suffixes.add(`s:${path.slice(0, slash + 1)}`);
      slash = path.indexOf('/', slash + 1);
    }
  }
  for (const tag of tags) suffixes.add(`t:${tag}`);
  return [...suffixes];
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The path a request's entry is indexed under, and a write invalidates: the target up to "?" or
 * "#" (after the scheme and authority of an absolute-form target, which Express routes on), in
 * normal form. That form holds no '*', so passed to cache.invalidatePath it names this path
 * alone, never a prefix, even for a request to '/dir/*'.
 * @param {{ originalUrl?: string, url?: string }} req
 * @returns {string}
 */
function requestPath(req) {
  let url = req.originalUrl || req.url || '/';
  const scheme = ABSOLUTE_FORM.exec(url);
  if (scheme !== null) {
    const afterAuthority = url.slice(scheme[0].length).search(/[/?#]/);
    url = afterAuthority === -1 ? '' : url.slice(scheme[0].length + afterAuthority);
  }
  const q = url.search(/[?#]/);
  const path = q === -1 ? url : url.slice(0, q);
  return normalisePath(path.startsWith('/') ? path : `/${path}`);
}

/**
 * The paths a request's entry is indexed under, and a write invalidates: requestPath(req), and
 * the path Express routed it on (req.baseUrl + req.path) where code before the cache rewrote
 * req.url to another one, so a write to either reaches the entry.
 * @param {{ originalUrl?: string, url?: string, baseUrl?: string, path?: string }} req
 * @returns {string[]}
 */
function requestPaths(req) {
  const sent = requestPath(req);
  if (typeof req.path !== 'string' || !req.path.startsWith('/')) return [sent];
  const routed = normalisePath(`${req.baseUrl || ''}${req.path}`);
  return routed === sent ? [sent] : [sent, routed];
}

module.exports = { normalisePath, pathIndexes, entryIndexes, requestPath, requestPaths, MAX_PATH_DEPTH };
