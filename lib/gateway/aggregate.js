'use strict';

// cache.aggregate(calls, options): several service calls at once, each through cache.fetch() with
// its own ttl and tags, merged into one result with per-service errors. A call fails on a network
// error, on its timeout (its signal aborts the exchange, body included), on a non-2xx status, or
// on a 2xx whose body does not parse as the JSON its content-type says. With allowPartial (the
// default) the result says which calls failed; without it, any failure rejects the whole with an
// AggregateCallError naming them. A call's ttl and tags apply only to what that call stores (a
// MISS or a revalidation); a call answered from the cache or from a concurrent call's fetch leaves
// the entry as it is.
const { isPlainObject, rejectUnknown } = require('../options');
const { fetchInit, callSignal, plainHeaders, setOwn } = require('./fetch');
const { UpstreamError, UpstreamStatusError, UpstreamBodyError, AggregateCallError } = require('../errors');

const AGGREGATE_OPTIONS = ['allowPartial', 'timeout'];
const MAX_MS = 2147483647;
// A JSON MIME type (WHATWG mimesniff): essence application/json or text/json, or any subtype ending
// in "+json"; case-insensitive, parameters after ';'.
const TOKEN = "[!#$%&'*.^_`|~0-9a-z+-]";
const JSON_TYPE = new RegExp(`^(?:application/json|text/json|${TOKEN}+/${TOKEN}*\\+json)[ \\t]*(?:;|$)`, 'i');

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

/**
 * One call: its { status, headers, body }, or a rejection with the reason it failed. The status
 * decides first: a non-2xx fails with UpstreamStatusError whatever its body (the body as text when
 * it does not parse); a 2xx whose JSON does not parse fails with UpstreamBodyError.
 */
async function runCall(fetch, { name, url, init }) {
  const what = `the call "${name}" of ${where}`;
  const guard = callSignal(init.signal || null, init.timeout === undefined ? null : init.timeout, what);
  try {
    const response = await fetch(url, { ...init, timeout: undefined, signal: guard.signal });
    const result = { status: response.status, headers: plainHeaders(response.headers), body: undefined };
    const ok = response.status >= 200 && response.status <= 299;
    let text;
    try {
      text = await response.text();
    } catch (err) {
      // Aborted (timeout, caller's signal): that is the reason; else the status is, the body unread.
      if (ok || (guard.signal !== undefined && guard.signal.aborted)) throw err;
      throw new UpstreamStatusError(`${what} answered ${response.status}`, result, { cause: err });
    }
    const type = response.headers.get('content-type') || '';
    result.body = text;
    if (JSON_TYPE.test(type) && text.length > 0) {
      try {
        result.body = JSON.parse(text);
      } catch (err) {
        if (ok) {
          throw new UpstreamBodyError(`${what} answered ${response.status} with "${type}" and a body that is not JSON: ${err.message}`,
            result, { cause: err });
        }
      }
    }
    if (!ok) throw new UpstreamStatusError(`${what} answered ${response.status}`, result);
    return result;
  } catch (err) {
    if (guard.timedOut()) throw guard.signal.reason;
    if (err instanceof Error) throw err;
    throw new UpstreamError(`${what} failed: ${String(err)}`, { cause: err });
  } finally {
    guard.done();
  }
}

/**
 * Runs every call concurrently through `fetch` (cache.fetch bound to its cache). A call's ttl and
 * tags apply only to the response that call stores; one answered from the cache (HIT) or from a
 * concurrent call's fetch leaves the entry as it was stored.
 * @param {(url: string|URL, init?: object) => Promise<Response>} fetch
 * @param {object|object[]} calls { [name]: { url, ttl?, tags?, timeout?, ...init } } or [{ name, url, ... }]
 * @param {{ allowPartial?: boolean, timeout?: number }} [options]
 * @returns {Promise<{ results: object, partial: boolean, errors: object }>}
 */
async function aggregate(fetch, calls, options) {
  const o = aggregateOptions(options);
  const list = callList(calls, o.timeout);
  const settled = await Promise.allSettled(list.map((call) => runCall(fetch, call)));
  // Own properties, so that every name is kept ('__proto__' would set the prototype by assignment).
  const results = {};
  const errors = {};
  settled.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') setOwn(results, list[i].name, outcome.value);
    else setOwn(errors, list[i].name, outcome.reason);
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
