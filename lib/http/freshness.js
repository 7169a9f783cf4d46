'use strict';

// Freshness (RFC 9111 section 4.2): a stored response's lifetime (explicit, targeted or
// heuristic), its age, and whether it may be served now: fresh, stale with permission (request
// max-stale, RFC 5861 stale-while-revalidate), or only after validation; plus the RFC 5861
// stale-if-error window. Pure functions of headers and times in ms; nothing reads the clock.
const { fieldValues, listMembers } = require('./header-fields');
const { fieldDate } = require('./http-date');
const { MAX_DELTA_SECONDS, deltaSeconds, responseDirectives, requestDirectives } = require('./cache-control');

// Date, Expires and Last-Modified as freshness is calculated: names in any case (RFC 9111 4.2).
const freshnessDate = (headers, name) => fieldDate(headers, name, undefined, { lenient: true });

/** RFC 9110 15.1: the status codes that are heuristically cacheable (shared: copy it to narrow it, never mutate it). */
const HEURISTIC_STATUSES = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** A delta-seconds directive as ms: undefined when absent, 0 when invalid or in conflict. */
function directiveLifetimeMs(directives, name) {
  if (!directives.has(name)) return undefined;
  if (directives.conflicts.has(name)) return 0; // RFC 9111 4.2.1: "considered stale"
  const seconds = deltaSeconds(directives.get(name));
  return Number.isNaN(seconds) ? 0 : seconds * 1000;
}

/**
 * The freshness lifetime of a response (RFC 9111 4.2.1), with its source: for a shared cache a
 * valid CDN-Cache-Control (RFC 9213, when `cdnCacheControl`) with s-maxage or max-age; else
 * s-maxage (shared only), then max-age (conflicting or invalid values: 0, stale), then Expires
 * minus Date (Date missing or invalid: `responseTime`; an invalid Expires, or several different
 * ones: 0, already expired, 5.3); else, when the status is heuristically cacheable or the
 * response says public, the heuristic of 4.2.2: `heuristicFraction` of the time between
 * Last-Modified and Date, at most `heuristicMaxMs` (0 without a usable Last-Modified).
 * @param {object|string[]} resHeaders
 * @param {{ status?: number, shared?: boolean, heuristicFraction?: number, heuristicMaxMs?: number,
 *   heuristicStatuses?: Set<number>, cdnCacheControl?: boolean, responseTime?: number }} [options]
 * @returns {{ ms: number, source: 'cdn-cache-control'|'s-maxage'|'max-age'|'expires'|'heuristic'|'none' }}
 */
function freshnessLifetime(resHeaders, {
  status, shared = true, heuristicFraction = 0.1, heuristicMaxMs = 86400000,
  heuristicStatuses = HEURISTIC_STATUSES, cdnCacheControl = true, responseTime,
} = {}) {
  const { directives, targeted } = responseDirectives(resHeaders, { cdnCacheControl, shared });
  const names = shared ? ['s-maxage', 'max-age'] : ['max-age'];
  for (const name of names) {
    const ms = directiveLifetimeMs(directives, name);
    if (ms !== undefined) return { ms, source: targeted ? 'cdn-cache-control' : name };
  }
  let dateValue = freshnessDate(resHeaders, 'date');
  if (Number.isNaN(dateValue)) dateValue = typeof responseTime === 'number' ? responseTime : NaN;
  if (!targeted && fieldValues(resHeaders, 'expires').length > 0) {
    const expires = freshnessDate(resHeaders, 'expires');
    const ms = Number.isNaN(expires) || Number.isNaN(dateValue) ? 0 : Math.max(0, expires - dateValue);
    return { ms, source: 'expires' };
  }
  if (heuristicStatuses.has(status) || directives.has('public')) {
    const lastModified = freshnessDate(resHeaders, 'last-modified');
    const span = dateValue - lastModified;
    const ms = Number.isFinite(span) && span > 0 ? Math.floor(Math.min(span * heuristicFraction, heuristicMaxMs)) : 0;
    return { ms, source: 'heuristic' };
  }
  return { ms: 0, source: 'none' };
}

/**
 * The age a response had when it arrived (RFC 9111 4.2.3, corrected_initial_age):
 * max(apparent_age, age_value + response_delay), apparent_age = max(0, responseTime − Date)
 * (0 without a valid Date: RFC 9110 6.6.1 has the recipient date it at receipt).
 * Age (RFC 9111 5.1): of a list or of several field lines the first member counts; a first
 * member that is not a non-negative integer is ignored (age_value 0); above 2^31 s it is 2^31 s.
 * @param {object|string[]} resHeaders
 * @param {number} requestTime when the request that got this response was sent (ms)
 * @param {number} responseTime when the response was received (ms)
 * @returns {number} ms
 */
function initialAge(resHeaders, requestTime, responseTime) {
  const date = freshnessDate(resHeaders, 'date');
  const apparentAge = Number.isNaN(date) ? 0 : Math.max(0, responseTime - date);
  const first = listMembers(fieldValues(resHeaders, 'age'))[0];
  const seconds = deltaSeconds(first);
  const ageValue = Number.isNaN(seconds) ? 0 : seconds * 1000;
  const responseDelay = Math.max(0, responseTime - requestTime);
  return Math.max(apparentAge, ageValue + responseDelay);
}

/**
 * The current age of a stored response (RFC 9111 4.2.3): its initial age plus the time it has
 * been resident since `responseTime` (a clock gone backwards counts as 0).
 * @param {number} initialAgeMs
 * @param {number} responseTime
 * @param {number} now
 * @returns {number} ms
 */
function currentAge(initialAgeMs, responseTime, now) {
  return initialAgeMs + Math.max(0, now - responseTime);
}

/**
 * The Age field value for an age (RFC 9111 5.1): whole seconds, rounded down, at most 2^31.
 * @param {number} ageMs
 * @returns {string}
 */
function ageFieldValue(ageMs) {
  return String(Math.min(Math.max(0, Math.floor(ageMs / 1000)), MAX_DELTA_SECONDS));
}

/** A window directive (stale-while-revalidate=N, max-stale=N...) in ms; 0 when absent or invalid. */
function windowMs(directives, name) {
  const seconds = deltaSeconds(directives.get(name));
  return Number.isNaN(seconds) ? 0 : seconds * 1000;
}

/** Whether the response forbids any stale use (RFC 9111 4.2.4, 5.2.2.2, 5.2.2.4, 5.2.2.8). */
function forbidsStale(directives, shared) {
  return directives.has('must-revalidate') || directives.get('no-cache') === ''
    || (shared && directives.has('proxy-revalidate'));
}

/**
 * The RFC 5861 windows of a response, in ms past its freshness lifetime: stale-while-revalidate
 * and stale-if-error. Both are 0 when the response forbids stale use (must-revalidate, unqualified
 * no-cache, proxy-revalidate in a shared cache). s-maxage, which implies proxy-revalidate in a
 * shared cache (RFC 9111 5.2.2.10), forbids a window only when the same response does not grant
 * it explicitly: `s-maxage=60, stale-while-revalidate=30` keeps its 30 s (the more specific
 * directive of the two wins). Use it to size how long an entry is retained.
 * @param {object|string[]} resHeaders
 * @param {{ shared?: boolean, cdnCacheControl?: boolean }} [options]
 * @returns {{ whileRevalidateMs: number, ifErrorMs: number }}
 */
function staleWindowsMs(resHeaders, { shared = true, cdnCacheControl = true } = {}) {
  const { directives } = responseDirectives(resHeaders, { cdnCacheControl, shared });
  if (forbidsStale(directives, shared)) return { whileRevalidateMs: 0, ifErrorMs: 0 };
  return {
    whileRevalidateMs: windowMs(directives, 'stale-while-revalidate'),
    ifErrorMs: windowMs(directives, 'stale-if-error'),
  };
}

/**
 * Whether a stored response may answer a request now (RFC 9111 4, 4.2.4, 5.2.1; RFC 5861).
 * `state`:
 * - 'revalidate' when it must be validated first: the response says no-cache (unqualified; the
 *   fields of a qualified no-cache are the caller's, see storable.strippedFields), the request
 *   says no-cache (or Pragma: no-cache without Cache-Control), its current age exceeds the
 *   request's max-age, it stays fresh for less than the request's min-fresh, or it is stale with
 *   no permission below;
 * - 'fresh' when its current age is below its lifetime;
 * - 'stale-ok' when stale but the request's max-stale (with no argument: any staleness) covers it;
 * - 'stale-while-revalidate' when stale within the response's stale-while-revalidate window: serve
 *   it and revalidate in the background.
 * must-revalidate, proxy-revalidate and (shared) s-maxage forbid both stale states, even under
 * max-stale; s-maxage yields to an explicit stale-while-revalidate (see staleWindowsMs).
 * `ifErrorMs`: how much longer, from `now`, the stored response may be served when validation
 * fails with an error: the rest of its lifetime plus the RFC 5861 stale-if-error window of the
 * response or the request, the longer; 0 without such a window (a validation the request asked
 * for, by no-cache, max-age or min-fresh, that fails is not answered from storage: RFC 9111
 * 4.2.4, 5.2.1.4), and 0 when the response forbids stale use (and so also while fresh under
 * no-cache, which needs a successful validation).
 * Request directive arguments that are not delta-seconds are ignored.
 * @param {{ headers: object|string[], status?: number, lifetimeMs: number, initialAgeMs: number,
 *   responseTime: number }} stored
 * @param {object|string[]} reqHeaders
 * @param {number} now
 * @param {{ shared?: boolean, cdnCacheControl?: boolean }} [options]
 * @returns {{ state: 'fresh'|'stale-while-revalidate'|'stale-ok'|'revalidate', ageMs: number, ifErrorMs: number }}
 */
function servable(stored, reqHeaders, now, { shared = true, cdnCacheControl = true } = {}) {
  const ageMs = currentAge(stored.initialAgeMs, stored.responseTime, now);
  const { directives } = responseDirectives(stored.headers, { cdnCacheControl, shared });
  const request = requestDirectives(reqHeaders);
  const forbidden = forbidsStale(directives, shared);
  const sMaxage = shared && directives.has('s-maxage');
  const windows = staleWindowsMs(stored.headers, { shared, cdnCacheControl });
  // A request's stale-if-error widens the window, unless s-maxage stands without one of its own.
  const ifErrorWindow = Math.max(windows.ifErrorMs, sMaxage ? 0 : windowMs(request, 'stale-if-error'));
  const ifErrorMs = forbidden || ifErrorWindow === 0 ? 0 : Math.max(0, stored.lifetimeMs + ifErrorWindow - ageMs);
  const answer = (state) => ({ state, ageMs, ifErrorMs });

  if (directives.get('no-cache') === '' || request.has('no-cache')) return answer('revalidate');
  const maxAge = deltaSeconds(request.get('max-age'));
  if (ageMs > maxAge * 1000) return answer('revalidate');
  const minFresh = deltaSeconds(request.get('min-fresh'));
  if (stored.lifetimeMs - ageMs < minFresh * 1000) return answer('revalidate');
  if (ageMs < stored.lifetimeMs) return answer('fresh');

  const staleness = ageMs - stored.lifetimeMs;
  if (!forbidden && !sMaxage && request.has('max-stale')) {
    const maxStale = request.get('max-stale') === '' ? Infinity : deltaSeconds(request.get('max-stale')) * 1000;
    if (staleness <= maxStale) return answer('stale-ok');
  }
  if (staleness < windows.whileRevalidateMs) return answer('stale-while-revalidate');
  return answer('revalidate');
}

/**
 * Whether the request says only-if-cached (RFC 9111 5.2.1.7): the cache must answer from storage
 * or with 504 (Gateway Timeout), never contact the origin.
 * @param {object|string[]} reqHeaders
 * @returns {boolean}
 */
function onlyIfCached(reqHeaders) {
  return requestDirectives(reqHeaders).has('only-if-cached');
}

module.exports = {
  HEURISTIC_STATUSES, freshnessLifetime, initialAge, currentAge, ageFieldValue, staleWindowsMs, servable, onlyIfCached,
};
