'use strict';

// The options of cache.proxy(upstream, options): defaults applied, validated and interpreted
// once, at setup. Every mistake is a TypeError naming the option (the gateway's callers test for
// one class); the caller's object is never mutated. With no options the gateway is a conformant
// RFC 9111 shared cache: options only narrow what it stores or tune its timings (`ttl` caps the
// HTTP freshness lifetime, it never lengthens it), and none turns off what RFC 9110 requires of a
// proxy (Via).
const { isPlainObject, rejectUnknown, RETAIN_STALE_SECONDS } = require('../options');
const { HEURISTIC_STATUSES } = require('../http/freshness');
const { checkTags } = require('../stores/contract');

const PROXY_OPTIONS = ['heuristicFraction', 'heuristicMaxAge', 'statuses', 'maxBodyBytes', 'retainStale',
  'cdnCacheControl', 'timeout', 'tags', 'ttl', 'coalesce', 'coalesceTimeout', 'lockTtl', 'via', 'xForwarded',
  'trustForwarded', 'connections'];
const TIMEOUT_OPTIONS = ['connect', 'headers', 'body'];
const MAX_SECONDS = 10 * 365 * 86400;
const MAX_MS = 2147483647;

const DEFAULTS = Object.freeze({
  heuristicFraction: 0.1,
  heuristicMaxAge: 86400,
  maxBodyBytes: 8 * 1024 * 1024,
  retainStale: RETAIN_STALE_SECONDS,
  timeout: Object.freeze({ connect: 10000, headers: 30000, body: 30000 }),
  coalesceTimeout: 10000,
  lockTtl: 10000,
  connections: 128,
});

const where = 'cache.proxy()';

function fail(name, expected, value) {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'number' ? String(value) : typeof value;
  return new TypeError(`Expected the "${name}" option of ${where} to be ${expected}, got ${got}`);
}

function number(o, name, { min, max, integer = false, exclusiveMin = false }, expected) {
  const value = o[name];
  if (value === undefined) return DEFAULTS[name];
  const ok = typeof value === 'number' && Number.isFinite(value) && (exclusiveMin ? value > min : value >= min)
    && value <= max && (!integer || Number.isInteger(value));
  if (!ok) throw fail(name, expected, value);
  return value;
}

function boolean(o, name, fallback) {
  const value = o[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw fail(name, 'true or false', value);
  return value;
}

/** The upstream: an http(s) URL string with no query or fragment; its path is a prefix. */
function upstreamUrl(upstream) {
  let url;
  try {
    url = typeof upstream === 'string' ? new URL(upstream) : null;
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== ''
    || url.username !== '' || url.password !== '') {
    throw new TypeError(`Expected the "upstream" of ${where} to be an http: or https: URL string without query, `
      + `fragment or credentials, got ${typeof upstream === 'string' ? JSON.stringify(upstream) : typeof upstream}`);
  }
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
}

function timeouts(value) {
  if (value === undefined) return DEFAULTS.timeout;
  const ms = (v, name) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_MS) {
      throw fail(name, `a whole number of milliseconds from 1 to ${MAX_MS}`, v);
    }
    return v;
  };
  if (typeof value === 'number') {
    const t = ms(value, 'timeout');
    return Object.freeze({ connect: t, headers: t, body: t });
  }
  if (!isPlainObject(value)) throw fail('timeout', 'a number of milliseconds or { connect, headers, body }', value);
  rejectUnknown(value, TIMEOUT_OPTIONS, 'the "timeout" option of cache.proxy()');
  const out = {};
  for (const name of TIMEOUT_OPTIONS) out[name] = value[name] === undefined ? DEFAULTS.timeout[name] : ms(value[name], `timeout.${name}`);
  return Object.freeze(out);
}

function statuses(value) {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length === 0
    || !value.every((s) => Number.isInteger(s) && s >= 200 && s <= 599)) {
    throw fail('statuses', 'a non-empty array of final status codes (200 to 599), or null', value);
  }
  return Object.freeze(new Set(value));
}

function tags(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === 'function') return value;
  try {
    return Object.freeze(checkTags(value, 'the "tags" option of cache.proxy()'));
  } catch (err) {
    throw new TypeError(`${err.message}, or to be a function (req, res) => tags`);
  }
}

/**
 * `xForwarded` and `trustForwarded`: trusting the client's forwarded fields means passing them
 * on, which a gateway that sends none (xForwarded: false) does not do; cache.fetch() sends none.
 */
function forwarding(o, internal) {
  if (internal.client === true) return { xForwarded: false, trustForwarded: false };
  const xForwarded = boolean(o, 'xForwarded', true);
  const trustForwarded = boolean(o, 'trustForwarded', false);
  if (trustForwarded && !xForwarded) {
    throw new TypeError(`Expected the "trustForwarded" option of ${where} to be false when "xForwarded" is false `
      + '(no forwarded field is sent then, the client\'s neither)');
  }
  return { xForwarded, trustForwarded };
}

// RFC 9110 7.6.3: a proxy MUST send Via, so there is no way to turn it off; a pseudonym may
// stand for the host name.
function via(value) {
  if (value === undefined || value === true) return '1.1 respcache';
  if (typeof value !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z:]+$/.test(value)) {
    const why = value === false ? ' (RFC 9110 7.6.3: a proxy sends Via)' : '';
    throw new TypeError(`${fail('via', 'true or a pseudonym (a token, as in "Via: 1.1 <pseudonym>")', value).message}${why}`);
  }
  return `1.1 ${value}`;
}

/**
 * Validates and interprets cache.proxy(upstream, options).
 * @param {string} upstream the origin URL, e.g. 'http://users.internal:8080' or 'http://host/api'
 * @param {object} [options] see docs/gateway.md
 * @param {{ client?: boolean }} [internal] not from users: `client` for cache.fetch(), which is a
 *   client and not a proxy, so it sends no Via (and no forwarded field of its own)
 * @returns {Readonly<{ origin: string, basePath: string, heuristicFraction: number, heuristicMaxMs: number,
 *   statuses: Set<number>|null, heuristicStatuses: Set<number>, maxBodyBytes: number, retainStaleMs: number,
 *   cdnCacheControl: boolean, timeout: { connect: number, headers: number, body: number },
 *   tags: string[]|Function|null, ttlCapMs: number|null, coalesce: boolean, coalesceTimeout: number, lockTtl: number,
 *   via: string|null, xForwarded: boolean, trustForwarded: boolean, connections: number }>}
 * @throws {TypeError} naming the option
 */
function proxyOptions(upstream, options, internal = {}) {
  const { origin, basePath } = upstreamUrl(upstream);
  if (options === undefined || options === null) options = {};
  if (!isPlainObject(options)) throw new TypeError(`Expected the options of ${where} to be a plain object`);
  rejectUnknown(options, PROXY_OPTIONS, where);
  const o = options;
  const statusSet = statuses(o.statuses);
  const heuristicStatuses = statusSet === null ? HEURISTIC_STATUSES
    : new Set([...HEURISTIC_STATUSES].filter((s) => statusSet.has(s)));
  let ttlCapMs = null;
  if (o.ttl !== undefined && o.ttl !== null) {
    if (typeof o.ttl !== 'number' || !(o.ttl > 0) || o.ttl > MAX_SECONDS) {
      throw fail('ttl', `a positive number of seconds (at most ${MAX_SECONDS}), or null for no cap`, o.ttl);
    }
    ttlCapMs = Math.max(1, Math.round(o.ttl * 1000));
  }
  return Object.freeze({
    origin,
    basePath,
    heuristicFraction: number(o, 'heuristicFraction', { min: 0, max: 1 }, 'a number from 0 to 1'),
    heuristicMaxMs: number(o, 'heuristicMaxAge', { min: 0, max: MAX_SECONDS }, 'a number of seconds') * 1000,
    statuses: statusSet,
    heuristicStatuses,
    maxBodyBytes: number(o, 'maxBodyBytes', { min: 0, max: 2 ** 31, integer: true }, 'a whole number of bytes'),
    retainStaleMs: number(o, 'retainStale', { min: 0, max: MAX_SECONDS }, 'a number of seconds') * 1000,
    cdnCacheControl: boolean(o, 'cdnCacheControl', true),
    timeout: timeouts(o.timeout),
    tags: tags(o.tags),
    ttlCapMs,
    coalesce: boolean(o, 'coalesce', true),
    coalesceTimeout: number(o, 'coalesceTimeout', { min: 1, max: MAX_MS, integer: true }, 'a whole number of milliseconds'),
    lockTtl: number(o, 'lockTtl', { min: 1, max: MAX_MS, integer: true }, 'a whole number of milliseconds'),
    via: internal.client === true ? null : via(o.via),
    ...forwarding(o, internal),
    connections: number(o, 'connections', { min: 1, max: 65536, integer: true }, 'a whole number of connections'),
  });
}

module.exports = { proxyOptions, PROXY_OPTIONS, PROXY_DEFAULTS: DEFAULTS };
