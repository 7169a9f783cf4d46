'use strict';

// Whether a shared cache may store a response (RFC 9111 section 3, 3.5) and which of its fields
// it must not keep (3.1) or must not send without validation (5.2.2.4).
const { fieldValues, listMembers } = require('./header-fields');
const { fieldNames, responseDirectives, requestDirectives } = require('./cache-control');
const { HEURISTIC_STATUSES } = require('./freshness');

// The methods this cache understands and whose responses are cacheable (RFC 9110 9.3.1, 9.3.2).
// POST responses are cacheable only with Content-Location (9.3.3) and only for GETs of that URI,
// which this cache does not implement.
const CACHEABLE_METHODS = new Set(['GET', 'HEAD']);

// Status codes whose caching requirements this cache conforms to, for must-understand (RFC 9111
// 5.2.2.3): those RFC 9110 defines, less 206 and 304, which are never stored here as such.
const UNDERSTOOD_STATUSES = new Set([
  200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426,
  500, 501, 502, 503, 504, 505,
]);

// Hop-by-hop fields (RFC 9110 7.6.1) and those specific to the proxy that forwarded the request
// (RFC 9111 3.1: Proxy-Authenticate, Proxy-Authentication-Info, Proxy-Authorization; any other
// Proxy-* field, such as Proxy-Status, also describes one hop and is dropped with them).
const HOP_BY_HOP = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/**
 * Whether a shared cache may store this response (RFC 9111 3), with the project's own rule that a
 * response setting a cookie is never stored. In order:
 * - the method is GET or HEAD (methods are case-sensitive, RFC 9110 9.1);
 * - the status is final (not 1xx); 206 and 304 are not stored here: partial content is the
 *   engine's to combine (3.3, 3.4) and a 304 updates stored responses (4.3.4);
 * - must-understand (5.2.2.3) limits storing to the status codes in UNDERSTOOD_STATUSES and then
 *   overrides no-store;
 * - no no-store in the response (or in a valid CDN-Cache-Control, which then replaces
 *   Cache-Control, RFC 9213) nor in the request (5.2.1.5);
 * - no unqualified private (a qualified `private="x"` is storable without those fields: see
 *   strippedFields);
 * - a request with Authorization only when the response says public, s-maxage or
 *   must-revalidate (3.5); the same for a request with Cookie (the project's rule, beyond the RFC:
 *   such a response may be personal, and a shared key does not tell users apart);
 * - no Set-Cookie; no `Vary: *` (such a response can never be selected, 4.1);
 * - and, as RFC 9111 3 lists it, one of: public, an Expires field (even invalid: it is then
 *   stored as already expired), max-age, s-maxage, or a heuristically cacheable status
 *   (`heuristicStatuses`). A validator alone does not make a response storable.
 * @param {string} method
 * @param {number} status
 * @param {object|string[]} reqHeaders
 * @param {object|string[]} resHeaders
 * @param {{ heuristicStatuses?: Set<number>, cdnCacheControl?: boolean }} [options]
 * @returns {string|null} null when storable, else the reason it is not
 */
function sharedStorable(method, status, reqHeaders, resHeaders,
  { heuristicStatuses = HEURISTIC_STATUSES, cdnCacheControl = true } = {}) {
  if (!CACHEABLE_METHODS.has(method)) return `method ${method} is not cacheable`;
  if (!Number.isInteger(status) || status < 100 || status > 599) return `status ${status} is not a valid status code`;
  if (status < 200) return `status ${status} is not final`;
  if (status === 206) return 'status 206: partial content is combined by the engine, not stored as is';
  if (status === 304) return 'status 304 updates stored responses, it is not stored';
  const { directives, targeted } = responseDirectives(resHeaders, { cdnCacheControl, shared: true });
  const field = targeted ? 'CDN-Cache-Control' : 'Cache-Control';
  const mustUnderstand = directives.has('must-understand');
  if (mustUnderstand && !UNDERSTOOD_STATUSES.has(status)) return `must-understand with status ${status}, which this cache does not implement`;
  if (directives.has('no-store') && !mustUnderstand) return `${field}: no-store`;
  if (directives.get('private') === '') return `${field}: private`;
  if (requestDirectives(reqHeaders).has('no-store')) return 'the request says Cache-Control: no-store';
  const shared = ['public', 's-maxage', 'must-revalidate'].some((name) => directives.has(name));
  for (const credential of ['authorization', 'cookie']) {
    if (!shared && fieldValues(reqHeaders, credential).length > 0) {
      return `the request carried ${credential === 'cookie' ? 'Cookie' : 'Authorization'} and the response is not marked `
        + 'public, s-maxage or must-revalidate';
    }
  }
  if (fieldValues(resHeaders, 'set-cookie').length > 0) return 'the response sets a cookie';
  if (listMembers(fieldValues(resHeaders, 'vary')).includes('*')) return 'Vary: *';
  const explicit = directives.has('public') || directives.has('max-age') || directives.has('s-maxage')
    || (!targeted && fieldValues(resHeaders, 'expires').length > 0);
  if (!explicit && !heuristicStatuses.has(status)) {
    return `status ${status} is not heuristically cacheable and the response has no explicit freshness or public`;
  }
  return null;
}

/**
 * The fields of a response a shared cache treats apart (RFC 9111 3.1, 5.2.2.4, 5.2.2.7):
 * `drop`, never stored: hop-by-hop fields, those the Connection field names, Proxy-* fields, and
 * the field names of a qualified private; `revalidateIfUsed`, stored but not to be sent in a
 * response from the cache without a successful validation: the field names of a qualified
 * no-cache (the engine may instead omit them from a response it serves unvalidated). Directives
 * are read as sharedStorable reads them (a valid CDN-Cache-Control replaces Cache-Control).
 * @param {object|string[]} resHeaders
 * @param {{ cdnCacheControl?: boolean }} [options]
 * @returns {{ drop: string[], revalidateIfUsed: string[] }} lowercased names, without duplicates
 */
function strippedFields(resHeaders, { cdnCacheControl = true } = {}) {
  const drop = new Set(HOP_BY_HOP);
  for (const name of listMembers(fieldValues(resHeaders, 'connection'))) drop.add(name.toLowerCase());
  const names = Array.isArray(resHeaders)
    ? resHeaders.filter((_, i) => i % 2 === 0).map((name) => String(name).toLowerCase())
    : Object.keys(resHeaders || {});
  for (const name of names) if (name.startsWith('proxy-')) drop.add(name);
  const { directives } = responseDirectives(resHeaders, { cdnCacheControl, shared: true });
  for (const name of fieldNames(directives.get('private'))) drop.add(name);
  const revalidateIfUsed = fieldNames(directives.get('no-cache')).filter((name) => !drop.has(name));
  return { drop: [...drop], revalidateIfUsed };
}

module.exports = { CACHEABLE_METHODS, UNDERSTOOD_STATUSES, sharedStorable, strippedFields };
