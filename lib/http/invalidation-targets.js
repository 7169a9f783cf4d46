'use strict';

// Invalidation (RFC 9111 section 4.4): which URIs' stored responses an unsafe request makes
// invalid once its response shows it succeeded.
const { fieldValues } = require('./header-fields');

// RFC 9110 9.2.1: the safe methods among those this cache knows; any other method, including
// an unknown one, counts as unsafe (4.4: "including methods whose safety is unknown").
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** A URI reference resolved against `base`, without its fragment; null when it does not resolve. */
function resolve(reference, base) {
  try {
    const url = new URL(reference.trim(), base);
    url.hash = '';
    return url;
  } catch {
    return null;
  }
}

/**
 * The absolute URLs whose stored responses must (the target URI) or may (Location and
 * Content-Location) be invalidated after a response to an unsafe method (RFC 9111 4.4): none for
 * a safe method (GET, HEAD, OPTIONS, TRACE; methods are case-sensitive) or an error or
 * informational status (only 2xx and 3xx count); else the request URL, then Location and
 * Content-Location resolved against it when they have its origin (scheme, host and port; a
 * different origin must not be invalidated, as a defence against denial of service). Fragments
 * are removed; duplicates and references that do not resolve are dropped. The caller invalidates
 * every stored response for each URL, whatever its method or variant.
 * @param {string} method
 * @param {number} status
 * @param {string|URL} requestUrl the absolute target URI
 * @param {object|string[]} resHeaders
 * @returns {string[]}
 * @throws {TypeError} when `requestUrl` is not an absolute URL
 */
function invalidationTargets(method, status, requestUrl, resHeaders) {
  const target = resolve(String(requestUrl));
  if (target === null) throw new TypeError(`Expected the request URL to be an absolute URL, got ${String(requestUrl)}`);
  if (SAFE_METHODS.has(method) || !(status >= 200 && status < 400)) return [];
  const urls = [target.href];
  for (const name of ['location', 'content-location']) {
    const values = fieldValues(resHeaders, name);
    if (values.length !== 1) continue; // both are singletons: several values name no one URI
    const url = resolve(values[0], target);
    const sameOrigin = url !== null && target.origin !== 'null' && url.origin === target.origin;
    if (sameOrigin && !urls.includes(url.href)) urls.push(url.href);
  }
  return urls;
}

module.exports = { SAFE_METHODS, invalidationTargets };
