'use strict';

// Validation (RFC 9111 4.3; RFC 9110 8.8 and 13): the conditions a cache sends to revalidate a
// stored response, how a 304 updates stored responses, and how a cache answers a client's own
// conditional request from a stored response.
const { isFlat, fieldValues, toFieldMap, fromFieldMap } = require('./header-fields');
const { fieldDate, formatHttpDate } = require('./http-date');
const { strippedFields } = require('./storable');

// entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text (RFC 9110 8.8.3)
const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;
const LIST_MEMBER = /[ \t]*((?:W\/)?"[^"]*"|\*|[^,]*)[ \t]*(?:,|$)/y;

// RFC 9111 3.2: fields a 304 does not update. Content-Length describes the stored body;
// Content-Encoding and Content-Range too (the body is stored as received, and a weak validator
// can match a differently encoded representation); Set-Cookie is never stored by this project.
const NOT_UPDATED = new Set(['content-length', 'content-encoding', 'content-range', 'set-cookie']);

// RFC 9110 15.4.5: what a 304 carries of the response it stands for (Last-Modified only without ETag).
const ON_304 = ['cache-control', 'cdn-cache-control', 'content-location', 'date', 'etag', 'expires', 'vary'];

/** An entity-tag as { weak, opaque }, or null when malformed. */
function parseEntityTag(text) {
  const m = ENTITY_TAG.exec(String(text).trim());
  return m ? { weak: m[1] !== undefined, opaque: m[2] } : null;
}

/** A list of entity-tags ("*" or #entity-tag): { any, tags }; malformed members are skipped. */
function entityTagList(values) {
  const tags = [];
  let any = false;
  const text = values.join(',');
  LIST_MEMBER.lastIndex = 0;
  while (LIST_MEMBER.lastIndex < text.length) {
    const m = LIST_MEMBER.exec(text);
    if (!m) break;
    if (m[1] === '*') any = true;
    const tag = parseEntityTag(m[1]);
    if (tag) tags.push(tag);
  }
  return { any, tags };
}

const strongMatch = (a, b) => !a.weak && !b.weak && a.opaque === b.opaque;
const weakMatch = (a, b) => a.opaque === b.opaque;

/** The stored ETag, parsed, or null. */
function etagOf(headers) {
  const values = fieldValues(headers, 'etag');
  return values.length === 1 ? parseEntityTag(values[0]) : null;
}

/** RFC 9110 8.8.2.2: Last-Modified is strong when Date is at least one second after it. */
function strongLastModified(headers) {
  const lastModified = fieldDate(headers, 'last-modified');
  return fieldDate(headers, 'date') - lastModified >= 1000 ? lastModified : NaN;
}

/**
 * The validators of a stored response: its ETag when it is one well-formed entity-tag, its
 * Last-Modified when it is one valid HTTP-date (both as received), else undefined.
 * @param {object|string[]} storedHeaders
 * @returns {{ etag: string|undefined, lastModified: string|undefined }}
 */
function validatorsOf(storedHeaders) {
  const etag = etagOf(storedHeaders) ? fieldValues(storedHeaders, 'etag')[0].trim() : undefined;
  const lastModified = Number.isNaN(fieldDate(storedHeaders, 'last-modified'))
    ? undefined : fieldValues(storedHeaders, 'last-modified')[0].trim();
  return { etag, lastModified };
}

/**
 * The conditions to add to a request that validates stored responses (RFC 9111 4.3.1):
 * If-None-Match with every stored ETag, and If-Modified-Since with the Last-Modified value when a
 * single stored response is validated. The stored Date is never used in its place: RFC 9110
 * 13.1.3 calls Last-Modified the most interoperable choice, and an origin that only honours exact
 * matches would never answer 304 to a Date. Without validators the result is {} and the request
 * is an ordinary one.
 * @param {object|string[]|Array<object|string[]>} storedHeaders one stored response's headers, or
 *   an array of several (told apart from flat headers by its first element not being a string)
 * @returns {{ 'if-none-match'?: string, 'if-modified-since'?: string }}
 */
function revalidationHeaders(storedHeaders) {
  const several = Array.isArray(storedHeaders) && storedHeaders.length > 0 && typeof storedHeaders[0] !== 'string';
  const all = several ? storedHeaders : [storedHeaders];
  const out = {};
  const etags = [...new Set(all.map((headers) => validatorsOf(headers).etag).filter(Boolean))];
  if (etags.length > 0) out['if-none-match'] = etags.join(', ');
  if (all.length === 1) {
    const { lastModified } = validatorsOf(all[0]);
    if (lastModified !== undefined) out['if-modified-since'] = lastModified;
  }
  return out;
}

/**
 * A stored response's headers updated by a 304 (RFC 9111 3.2, 4.3.4): every field of the 304
 * replaces the stored field of that name, except hop-by-hop and Connection-listed fields,
 * Proxy-* fields, Content-Length, Content-Encoding, Content-Range and Set-Cookie; fields named by
 * the updated response's qualified private are then removed. Date and Age describe the 304's own
 * transfer: when the 304 has no Date, the stored Date is replaced by `responseTime` (or removed
 * without it: RFC 9110 6.6.1 dates a response at receipt), and when it has no Age the stored Age
 * is removed, so that initialAge on the result is right for the new response time.
 * @param {object|string[]} storedHeaders
 * @param {object|string[]} notModifiedHeaders
 * @param {{ responseTime?: number, cdnCacheControl?: boolean }} [options]
 * @returns {object|string[]} new headers, in the shape of `storedHeaders`
 */
function mergeNotModified(storedHeaders, notModifiedHeaders, { responseTime, cdnCacheControl = true } = {}) {
  const merged = toFieldMap(storedHeaders);
  const update = toFieldMap(notModifiedHeaders);
  const hopByHop = new Set(strippedFields(notModifiedHeaders, { cdnCacheControl: false }).drop);
  for (const [name, values] of update) {
    if (!NOT_UPDATED.has(name) && !hopByHop.has(name)) merged.set(name, values);
  }
  if (!update.has('date')) {
    if (typeof responseTime === 'number') merged.set('date', [formatHttpDate(responseTime)]);
    else merged.delete('date');
  }
  if (!update.has('age')) merged.delete('age');
  const result = fromFieldMap(merged, isFlat(storedHeaders));
  for (const name of strippedFields(result, { cdnCacheControl }).drop) merged.delete(name);
  return fromFieldMap(merged, isFlat(storedHeaders));
}

/**
 * Which stored responses a 304 updates (RFC 9111 4.3.4): with strong validators in the 304 (a
 * strong ETag; a Last-Modified with Date at least 1 s later), every stored response with one of
 * them (Last-Modified matching only a stored response for which it is strong too); else with weak
 * validators, the most recent stored response they match (weak comparison); else, with no
 * validator at all, the only stored response when there is one and it has none either.
 * @param {Array<object|string[]|{ headers: object|string[], responseTime?: number }>} stored
 *   headers, or entries with their headers and response time (which decides "most recent";
 *   without it the Date field does, then the order of the array)
 * @param {object|string[]} notModifiedHeaders
 * @returns {number[]} indices into `stored`; [] when the 304 updates nothing
 */
function selectStoredForNotModified(stored, notModifiedHeaders) {
  const entries = stored.map((item, index) => {
    const entry = item && !Array.isArray(item) && typeof item.headers === 'object' && item.headers !== null;
    const headers = entry ? item.headers : item;
    const time = entry && typeof item.responseTime === 'number' ? item.responseTime : fieldDate(headers, 'date');
    return { index, headers, time: Number.isNaN(time) ? -Infinity : time };
  });
  const etag = etagOf(notModifiedHeaders);
  const lastModified = fieldDate(notModifiedHeaders, 'last-modified');
  const strongEtag = etag && !etag.weak ? etag : null;
  const strongDate = strongLastModified(notModifiedHeaders);
  if (strongEtag || !Number.isNaN(strongDate)) {
    return entries.filter(({ headers }) => {
      const mine = etagOf(headers);
      return (strongEtag && mine && strongMatch(strongEtag, mine)) || strongLastModified(headers) === strongDate;
    }).map(({ index }) => index);
  }
  if (etag || !Number.isNaN(lastModified)) {
    const matching = entries.filter(({ headers }) => {
      const mine = etagOf(headers);
      return (etag && mine && weakMatch(etag, mine)) || fieldDate(headers, 'last-modified') === lastModified;
    });
    if (matching.length === 0) return [];
    return [matching.reduce((a, b) => (b.time >= a.time ? b : a)).index];
  }
  if (entries.length === 1 && fieldValues(entries[0].headers, 'etag').length === 0
    && fieldValues(entries[0].headers, 'last-modified').length === 0) return [0];
  return [];
}

/**
 * A stored GET response freshened by a 200 response to HEAD (RFC 9111 4.3.5): when every
 * validator the HEAD response has (ETag, Last-Modified) equals the stored one, at least one of
 * them being there, and its Content-Length, if any, equals the stored one, the stored headers
 * updated as by a 304 (see mergeNotModified); otherwise null: the stored response is to be
 * considered stale.
 * @param {object|string[]} storedHeaders
 * @param {object|string[]} headHeaders
 * @param {{ responseTime?: number, cdnCacheControl?: boolean }} [options]
 * @returns {object|string[]|null}
 */
function freshenWithHead(storedHeaders, headHeaders, options) {
  const same = (name) => {
    const theirs = fieldValues(headHeaders, name).map((v) => v.trim());
    return theirs.length === 0 || theirs.join(',') === fieldValues(storedHeaders, name).map((v) => v.trim()).join(',');
  };
  const validators = ['etag', 'last-modified'].filter((name) => fieldValues(headHeaders, name).length > 0);
  if (validators.length === 0 || !validators.every(same) || !same('content-length')) return null;
  return mergeNotModified(storedHeaders, headHeaders, options);
}

/**
 * Whether the request carries preconditions a cache must not evaluate (If-Match,
 * If-Unmodified-Since: RFC 9111 4.3.2 says they apply to the origin server); a conformant
 * cache forwards such a request rather than calling clientConditionalAnswer.
 * @param {object|string[]} reqHeaders
 * @returns {boolean}
 */
function hasOriginPreconditions(reqHeaders) {
  return fieldValues(reqHeaders, 'if-match').length > 0 || fieldValues(reqHeaders, 'if-unmodified-since').length > 0;
}

/**
 * The answer a cache gives to a conditional request from a stored response, evaluating the
 * preconditions in the order of RFC 9110 13.2.2: If-Match (strong comparison; false → 412), else
 * If-Unmodified-Since (ignored when invalid or without a stored Last-Modified; later → 412);
 * If-None-Match (weak comparison, "*" matches; a match → 304 for GET and HEAD, else 412), else,
 * for GET and HEAD, If-Modified-Since (ignored when invalid or repeated): 304 when the stored
 * Last-Modified, or without one the stored Date, or without either `responseTime`, is not later
 * (RFC 9111 4.3.2). See hasOriginPreconditions for the first two.
 * @param {object|string[]} reqHeaders
 * @param {object|string[]} storedHeaders
 * @param {string} method
 * @param {{ responseTime?: number }} [options]
 * @returns {304|412|null} null when the stored response is to be sent in full
 */
function clientConditionalAnswer(reqHeaders, storedHeaders, method, { responseTime } = {}) {
  const etag = etagOf(storedHeaders);
  const lastModified = fieldDate(storedHeaders, 'last-modified');
  const ifMatch = fieldValues(reqHeaders, 'if-match');
  if (ifMatch.length > 0) {
    const { any, tags } = entityTagList(ifMatch);
    if (!any && !(etag && tags.some((tag) => strongMatch(tag, etag)))) return 412;
  } else if (fieldValues(reqHeaders, 'if-unmodified-since').length > 0) {
    const since = fieldDate(reqHeaders, 'if-unmodified-since');
    if (!Number.isNaN(since) && !Number.isNaN(lastModified) && lastModified > since) return 412;
  }
  const safe = method === 'GET' || method === 'HEAD';
  const ifNoneMatch = fieldValues(reqHeaders, 'if-none-match');
  if (ifNoneMatch.length > 0) {
    const { any, tags } = entityTagList(ifNoneMatch);
    if (any || (etag && tags.some((tag) => weakMatch(tag, etag)))) return safe ? 304 : 412;
    return null;
  }
  if (safe && fieldValues(reqHeaders, 'if-modified-since').length > 0) {
    const since = fieldDate(reqHeaders, 'if-modified-since');
    let modified = lastModified;
    if (Number.isNaN(modified)) modified = fieldDate(storedHeaders, 'date');
    if (Number.isNaN(modified) && typeof responseTime === 'number') modified = responseTime;
    if (!Number.isNaN(since) && modified <= since) return 304;
  }
  return null;
}

/**
 * The fields of a 304 a cache sends for a stored response (RFC 9110 15.4.5): Cache-Control,
 * CDN-Cache-Control, Content-Location, Date, ETag, Expires and Vary, and Last-Modified when there is
 * no ETag (it then guides cache updates). Age is the caller's to add.
 * @param {object|string[]} storedHeaders
 * @returns {object|string[]} in the shape of `storedHeaders`
 */
function notModifiedFields(storedHeaders) {
  const kept = new Set(ON_304);
  if (fieldValues(storedHeaders, 'etag').length === 0) kept.add('last-modified');
  const map = toFieldMap(storedHeaders);
  for (const name of [...map.keys()]) if (!kept.has(name)) map.delete(name);
  return fromFieldMap(map, isFlat(storedHeaders));
}

module.exports = {
  parseEntityTag, validatorsOf, revalidationHeaders, mergeNotModified, selectStoredForNotModified, freshenWithHead,
  hasOriginPreconditions, clientConditionalAnswer, notModifiedFields,
};
