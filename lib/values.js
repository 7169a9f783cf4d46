'use strict';

// Cache-aside values (cache.get / cache.set / cache.wrap): any JSON value, string or Buffer, kept
// in the store's value family ('v:<key>'), coalesced in this process (one Promise per key) and
// across processes (the store's fill lock).
const binding = require('./binding');
const errors = require('./errors');
const { wellFormed } = require('./http/keys');

// Values use the entry envelope: status 200, no headers, the bytes; the type is in the metadata.
const VALUE_TYPES = new Set(['buffer', 'string', 'json']);
// Faults that say "the store cannot be used right now"; the connection already reported them.
const QUIET_FAULTS = new Set(['ERR_RESPCACHE_REDIS_UNAVAILABLE', 'ERR_RESPCACHE_REDIS_CLOSED']);

// Keys, tags, paths and patterns become Redis bytes as UTF-8, which has no form for a lone UTF-16
// surrogate ('\uD800' and '\uD801' would both become U+FFFD and name the same thing).
function checkValueKey(key, method) {
  if (typeof key !== 'string' || key.length === 0 || !wellFormed(key)) {
    throw new errors.InvalidArgumentError(`Expected cache.${method}(key) to be given a non-empty, well-formed string key`);
  }
}

function encodeValue(value, ttlMs, now) {
  let type;
  let bytes;
  if (Buffer.isBuffer(value)) {
    type = 'buffer';
    bytes = value;
  } else if (typeof value === 'string') {
    type = 'string';
    bytes = Buffer.from(value, 'utf8');
  } else {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`a ${typeof value} cannot be stored (not JSON-serialisable)`);
    type = 'json';
    bytes = Buffer.from(json, 'utf8');
  }
  return binding.encodeEntry(200, [], bytes, now, now + ttlMs, { kind: 'value', valueType: type });
}

function decodeValue(entry) {
  const type = entry.meta.valueType;
  if (type === 'buffer') return Buffer.from(entry.body);
  if (type === 'string') return entry.body.toString('utf8');
  return JSON.parse(entry.body.toString('utf8'));
}

/** Reads the value stored for `key` ({ value } entry) or null; rejects on store faults. */
function readValue(store, key) {
  return store.getRecord('v:', key, (entry) => {
    if (!VALUE_TYPES.has(entry.meta.valueType)) return false;
    try {
      entry.value = decodeValue(entry);
      return true;
    } catch {
      return false; // planted bytes that are not JSON
    }
  });
}

/**
 * The value for `key`, or undefined (none, or the store cannot answer: reported).
 * @param {{ store: object, report: (err: Error) => void }} cache internals
 */
async function getValue({ store, report }, key) {
  checkValueKey(key, 'get');
  let entry;
  try {
    entry = await readValue(store, key);
  } catch (err) {
    if (!QUIET_FAULTS.has(err && err.code)) report(err);
    return undefined;
  }
  return entry === null ? undefined : entry.value;
}

async function setValue({ store, clock }, key, value, ttlMs, timeoutMs) {
  await store.putRecord('v:', key, encodeValue(value, ttlMs, clock.now()), ttlMs, timeoutMs);
}

/** cache.wrap: one fill per key at a time in this process (the same Promise for every caller). */
function wrapValue(internals, key, fn, timing) {
  return internals.inflight.share(key, () => fillValue(internals, key, fn, timing));
}

async function fillValue({ store, report, clock }, key, fn, timing) {
  let decision = { own: true };
  try {
    const stored = await readValue(store, key);
    if (stored !== null) return stored.value;
    decision = await store.acquire(`v:${key}`, () => readValue(store, key), timing);
  } catch (err) {
    if (!QUIET_FAULTS.has(err && err.code)) report(err);
  }
  if (decision.entry) return decision.entry.value;
  let value;
  try {
    value = await fn();
  } catch (err) {
    if (decision.token) store.release(`v:${key}`, decision.token, false);
    throw err;
  }
  let encoded = null;
  try {
    encoded = encodeValue(value, timing.ttlMs, clock.now());
  } catch (err) {
    report(new errors.StoreError(`the value for "${key}" cannot be stored: ${err.message}`, { cause: err }));
  }
  if (encoded !== null) store.putRecord('v:', key, encoded, timing.ttlMs, undefined).catch(report);
  if (decision.token) store.release(`v:${key}`, decision.token, encoded !== null);
  return value;
}

module.exports = { getValue, setValue, wrapValue, checkValueKey };
