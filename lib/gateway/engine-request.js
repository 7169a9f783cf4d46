'use strict';

// What the shared cache (engine.js) checks and derives from a request before it goes anywhere:
// the client's own conditions (forwarded on a MISS, replaced when the cache validates), the
// per-call overrides cache.fetch passes, and the once-only end of a coalesced fill.
const { checkTags } = require('../stores/contract');

const MAX_TTL_SECONDS = 10 * 365 * 86400;

// The client's own conditions and ranges: a request with any of them is forwarded as it is on a
// MISS (RFC 9111 4.3.2), not coalesced, and they are replaced by the cache's own validators when
// the cache revalidates.
const CLIENT_CONDITIONS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

function withoutConditions(headers) {
  const out = { ...headers };
  for (const name of CLIENT_CONDITIONS) delete out[name];
  return out;
}

/**
 * Checks the per-call overrides of a request (cache.fetch's): `ttl` in seconds (null or
 * undefined: HTTP freshness, capped by the `ttl` option) and `tags` (added to the entry's).
 * @throws {TypeError} naming the property
 */
function checkOverrides(request) {
  const ttl = request.ttl;
  if (ttl !== undefined && ttl !== null && !(typeof ttl === 'number' && ttl > 0 && ttl <= MAX_TTL_SECONDS)) {
    throw new TypeError(`Expected the "ttl" of a gateway request to be a positive number of seconds (at most ${MAX_TTL_SECONDS}), `
      + `or null for HTTP freshness, got ${typeof ttl === 'number' ? ttl : typeof ttl}`);
  }
  if (request.tags !== undefined && request.tags !== null) {
    try {
      checkTags(request.tags, 'the "tags" of a gateway request');
    } catch (err) {
      throw new TypeError(err.message);
    }
  }
}

/** Calls fn once, whatever calls it (the end of a coalesced fill). */
function onceOnly(fn) {
  let called = false;
  return (value) => {
    if (called) return;
    called = true;
    fn(value);
  };
}

module.exports = { CLIENT_CONDITIONS, withoutConditions, checkOverrides, onceOnly };
