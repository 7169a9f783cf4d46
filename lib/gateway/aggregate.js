'use strict';

// cache.aggregate(calls, options): several service calls at once, each through cache.fetch() with
// its own ttl and tags, merged into one result with per-service errors. A call fails on a network
// error, on its timeout (its signal aborts the exchange, body included) or on a non-2xx status.
// With allowPartial (the default) the result says which calls failed; without it, any failure
// rejects the whole with an AggregateCallError naming them.
const { isPlainObject, rejectUnknown } = require('../options');
const { fetchInit, callSignal } = require('./fetch');
const { UpstreamError, UpstreamStatusError, AggregateCallError } = require('../errors');

const AGGREGATE_OPTIONS = ['allowPartial', 'timeout'];
const MAX_MS = 2147483647;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

const where = 'cache.aggregate()';

function aggregateOptions(options) {
  if (options === undefined || options === null) options = {};
  if (!isPlainObject(options)) throw new TypeError(`Expected the options of ${where} to be a plain object`);
  rejectUnknown(options, AGGREGATE_OPTIONS, where);
  const { allowPartial = true, timeout = null } = options;
  if (typeof allowPartial !== 'boolean') throw new TypeError(`Expected the "allowPartial" option of ${where} to be true or false`);
  if (timeout !== null && (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_MS)) {
    throw new TypeError(`Expected the "timeout" option of ${where} to be a whole number of milliseconds from 1 to ${MAX_MS}`);
  }
  return { allowPartial, timeout };
}

/** The calls as [{ name, url, init }], each init validated by cache.fetch()'s rules. */
function callList(calls, timeout) {
  let entries;
  if (Array.isArray(calls)) {
    entries = calls.map((call, i) => {
      if (!isPlainObject(call) || typeof call.name !== 'string' || call.name.length === 0) {
        throw new TypeError(`Expected call ${i} of ${where} to be an object { name, url, ... } with a non-empty "name"`);
      }
      const { name, ...rest } = call;
      return [name, rest];
    });
  } else if (isPlainObject(calls)) {
    entries = Object.entries(calls);
  } else {
    throw new TypeError(`Expected the calls of ${where} to be an object keyed by service name, or an array of { name, url, ... }`);
  }
  const seen = new Set();
  return entries.map(([name, call]) => {
    if (seen.has(name)) throw new TypeError(`Expected the calls of ${where} to have distinct names, "${name}" is repeated`);
    seen.add(name);
    if (!isPlainObject(call)) throw new TypeError(`Expected the call "${name}" of ${where} to be an object { url, ... }`);
    const { url, ...init } = call;
    if (init.timeout === undefined && timeout !== null) init.timeout = timeout;
    try {
      fetchInit(url, init);
    } catch (err) {
      throw new TypeError(`${err.message} (call "${name}" of ${where})`);
    }
    return { name, url, init };
  });
}

/** A response's headers as a plain object (lowercased names; Set-Cookie as an array). */
function plainHeaders(headers) {
  const out = {};
  for (const [name, value] of headers) out[name] = value;
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}

/** The body: parsed JSON when the content-type says JSON, else text. */
async function readBody(response, name) {
  const text = await response.text();
  const type = response.headers.get('content-type') || '';
  if (!JSON_TYPE.test(type) || text.length === 0) return text;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UpstreamError(`the call "${name}" of ${where} answered ${type} that does not parse: ${err.message}`, { cause: err });
  }
}

/** One call: its { status, headers, body }, or a rejection with the reason it failed. */
async function runCall(fetch, { name, url, init }) {
  const guard = callSignal(init.signal || null, init.timeout === undefined ? null : init.timeout, `the call "${name}" of ${where}`);
  try {
    const response = await fetch(url, { ...init, timeout: undefined, signal: guard.signal });
    const body = await readBody(response, name);
    const result = { status: response.status, headers: plainHeaders(response.headers), body };
    if (response.status < 200 || response.status > 299) {
      throw new UpstreamStatusError(`the call "${name}" of ${where} answered ${response.status}`, result);
    }
    return result;
  } catch (err) {
    if (guard.timedOut()) throw guard.signal.reason;
    if (err instanceof Error) throw err;
    throw new UpstreamError(`the call "${name}" of ${where} failed: ${String(err)}`, { cause: err });
  } finally {
    guard.done();
  }
}

/**
 * Runs every call concurrently through `fetch` (cache.fetch bound to its cache).
 * @param {(url: string|URL, init?: object) => Promise<Response>} fetch
 * @param {object|object[]} calls { [name]: { url, ttl?, tags?, timeout?, ...init } } or [{ name, url, ... }]
 * @param {{ allowPartial?: boolean, timeout?: number }} [options]
 * @returns {Promise<{ results: object, partial: boolean, errors: object }>}
 */
async function aggregate(fetch, calls, options) {
  const o = aggregateOptions(options);
  const list = callList(calls, o.timeout);
  const settled = await Promise.allSettled(list.map((call) => runCall(fetch, call)));
  const results = {};
  const errors = {};
  settled.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') results[list[i].name] = outcome.value;
    else errors[list[i].name] = outcome.reason;
  });
  const failed = Object.keys(errors);
  if (failed.length > 0 && !o.allowPartial) {
    const reasons = failed.map((name) => `${name} (${errors[name].code || errors[name].name}: ${errors[name].message})`);
    throw new AggregateCallError(`${where}: ${failed.length} of ${list.length} calls failed: ${reasons.join('; ')}`,
      { errors, results, failed });
  }
  return { results, partial: failed.length > 0, errors };
}

module.exports = { aggregate, aggregateOptions, AGGREGATE_OPTIONS };
