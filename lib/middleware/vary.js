'use strict';

// Vary discovered from the handler, for routes on the built-in key. When a response names request
// headers in Vary that the route's key does not include, the cache remembers those names for the
// request's base key (the built-in key with the route's own "vary" headers): in Redis, as a small
// record under `<prefix>:vr:<base key>` that lives as long as the entries stored with it, and in a
// copy in this process. Requests for that base key are then keyed with those headers' values too,
// so each variant has its own entry and none is served to a request it does not match. A lookup
// reads the record only when the base key has no entry (in the same round trip), so HITs cost
// nothing more.
const debug = require('debug')('respcache');
const binding = require('../binding');
const { defaultKeyBuilder } = require('../http/keys');

const FAMILY = 'vr:';
// The record uses the entry envelope: status 200, no headers, no body; the names in its metadata.
// Records kept in this process per route; the oldest is forgotten beyond this.
const LOCAL_LIMIT = 10000;
const NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** The request header names in a response's Vary, lowercased (Accept-Encoding left out). */
function responseVaryNames(res) {
  const value = res.getHeader('vary');
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return text.split(',').map((v) => v.trim().toLowerCase()).filter((n) => n && n !== 'accept-encoding');
}

function sortedUnion(a, b) {
  return [...new Set([...a, ...b])].sort();
}

class VaryRecords {
  /** @param {{ store: object, report: (err: Error) => void, route: { keyPrefix: string, vary: string[]|null } }} r */
  constructor(r) {
    this.store = r.store;
    this.report = r.report;
    this.route = r.route;
    this.clock = r.clock;
    this.known = new Map(); // base key -> { names, expiresAt }
    this.accept = this.accept.bind(this);
  }

  /** The base key: the built-in key with the route's own vary headers. */
  baseKey(req) {
    return defaultKeyBuilder(req, this.route.keyPrefix, this.route.vary);
  }

  /** The key of `req` when it varies on `names` as well as on the route's own headers. */
  keyFor(req, names) {
    return defaultKeyBuilder(req, this.route.keyPrefix, sortedUnion(this.route.vary || [], names));
  }

  /** The discovered names this process knows for `base`, or null. */
  local(base) {
    const record = this.known.get(base);
    if (record === undefined) return null;
    if (record.expiresAt <= this.clock.now()) {
      this.known.delete(base);
      return null;
    }
    return record.names;
  }

  /**
   * Takes a stored record (store.lookup's want.accept): its names go on entry.names. False for
   * anything else, which the store then deletes.
   */
  accept(entry) {
    const listed = entry.meta.vary;
    if (listed.length === 0 || !listed.every((n) => NAME.test(n))) return false;
    entry.names = listed;
    return true;
  }

  /** Remembers a record the store returned; its names. */
  learn(base, record) {
    this.keep(base, record.names, record.expiresAt);
    return record.names;
  }

  keep(base, names, expiresAt) {
    this.known.delete(base);
    this.known.set(base, { names, expiresAt });
    if (this.known.size > LOCAL_LIMIT) this.known.delete(this.known.keys().next().value);
  }

  /**
   * The key a storable response is stored under. A response that varies on headers its request
   * was not keyed by (`used`: the discovered names the key already had, or null) extends the
   * record and goes under the key with those headers' values; the record's lifetime follows the
   * entries stored with it.
   * @param {import('http').IncomingMessage} req
   * @param {import('http').ServerResponse} res
   * @param {{ base: string, names: string[]|null, key: string }} keying how the request was keyed
   * @param {number} ttlMs the entry's lifetime in Redis
   * @param {boolean} [record] false: no record written, nothing dropped, and null instead of a
   *   key other than the request's
   * @returns {string|null}
   */
  storeKey(req, res, keying, ttlMs, record = true) {
    const own = this.route.vary || [];
    const wanted = responseVaryNames(res).filter((n) => !own.includes(n));
    if (wanted.length === 0) return keying.key;
    const names = sortedUnion(keying.names || [], wanted);
    if (record) this.remember(keying.base, names, ttlMs);
    if (keying.names !== null && names.length === keying.names.length) return keying.key;
    if (!record) return null; // some other key than the request's
    debug('%s varies on %s: entries are now keyed by them', keying.base, names.join(', '));
    if (keying.key === keying.base) {
      // An entry stored there before the handler said Vary would be served to every variant.
      this.store.deleteEntry(keying.base, false).catch(this.report);
    }
    return this.keyFor(req, names);
  }

  remember(base, names, ttlMs) {
    const now = this.clock.now();
    this.keep(base, names, now + ttlMs);
    let encoded;
    try {
      encoded = binding.encodeEntry(200, [], Buffer.alloc(0), now, now + ttlMs, { kind: 'vary', vary: names });
    } catch (err) {
      this.report(err);
      return;
    }
    this.store.putRecord(FAMILY, base, encoded, Math.max(1, Math.floor(ttlMs)), undefined).catch(this.report);
  }
}

module.exports = { VaryRecords, responseVaryNames };
