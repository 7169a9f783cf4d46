'use strict';

// Public entry point of respcache.
const binding = require('./binding');
const errors = require('./errors');
const { Cache, createCache } = require('./cache');
const { routeOptions } = require('./route-options');
const { wellFormed, defaultKeyBuilder, keys } = require('./http/keys');
const { unstorableReason } = require('./http/storability');

let defaultCache = null;

/**
 * The shared cache behind cacheResponse(), created on first use with no options: it connects to
 * REDIS_URL when that is set, else it runs in embedded mode (process memory, no Redis). Close it
 * with `getDefaultCache().close()`.
 * @returns {Cache}
 */
function getDefaultCache() {
  if (defaultCache === null || defaultCache.status === 'closed') defaultCache = createCache();
  return defaultCache;
}

/**
 * Route middleware on the shared default cache: `app.get(path, cacheResponse({ ttl: 60 }), handler)`.
 * The options are validated before any connection is made.
 * @param {object} [options] route options, as for cache.middleware()
 * @returns {import('express').RequestHandler}
 */
function cacheResponse(options) {
  routeOptions(options, 'respcache');
  return getDefaultCache().middleware(options);
}

/**
 * Hex SHA-256 of the unambiguous encoding of `parts` (each part's byte length as 8 bytes
 * big-endian, then its bytes; strings as UTF-8), for custom key builders:
 * `keyBuilder: (req, prefix) => `${prefix}:${hashKey([req.params.id, req.get('accept-language') || ''])}``.
 * @param {Array<string|Buffer>} parts
 * @returns {string} 64 lowercase hex characters
 */
function hashKey(parts) {
  if (!Array.isArray(parts)) {
    throw new TypeError('Expected hashKey(parts) to be given an array of strings or Buffers');
  }
  let normalised = parts;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (typeof part === 'string') {
      // UTF-8 has no form for a lone surrogate: '\uD800' and '\uD801' would hash alike.
      if (!wellFormed(part)) throw new TypeError(`Expected hashKey(parts) part ${i} to be a well-formed string (it holds a lone UTF-16 surrogate); pass a Buffer for arbitrary bytes`);
      continue;
    }
    if (Buffer.isBuffer(part)) continue;
    if (!(part instanceof Uint8Array)) {
      throw new TypeError(`Expected hashKey(parts) part ${i} to be a string or a Buffer, got ${part === null ? 'null' : typeof part}`);
    }
    if (normalised === parts) normalised = parts.slice();
    normalised[i] = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
  }
  return binding.hashKey(normalised);
}

module.exports = {
  createCache,
  cacheResponse,
  getDefaultCache,
  hashKey,
  Cache,
  /** The built-in policies, for composing your own: see README "Composing the defaults". */
  defaultKeyBuilder,
  /** Built-in key builders: keys.default, keys.perUser(req => id), keys.withHeaders([...]). */
  keys,
  unstorableReason,
  ...errors,
};
