'use strict';

// The gateway's stored responses over the store contract (lib/stores/contract.js): their keys,
// their vary records (RFC 9111 4.1), how a response becomes an entry (times, retention, stripped
// fields, the lifetime and tags a request imposes) and how every stored response for a URL is
// invalidated (4.4).
//
// Keys (RFC 9111 4: the primary key is the target URI). The base key of a request is
// `<keyPrefix>:gw:<sha256('GET', absolute upstream URL as sent[, forwarded fields sent])>`
// (HEAD is answered from GET entries). The URL is the one the upstream is sent, byte for byte
// (no dot segments resolved, no escapes added or removed): two targets the upstream may answer
// differently never share a key. With the `xForwarded` option on, the values of the forwarded
// fields sent upstream (upstream.js FORWARDED_FIELDS: Forwarded, X-Forwarded-Host, -Proto, -Port,
// -Prefix, -Server, in that order, '' for one not sent) are part of the key too: the upstream may
// build its response from them (absolute links), and they come from the client's Host (or, with
// `trustForwarded`, from its own fields), so without them one client could choose what another
// is answered (cache poisoning). With `xForwarded` off none is sent, and for cache.fetch(), the
// key is the URL alone. A response with Vary is stored under `<base key>:<sha256(secondary key)>` and a vary
// record under the base key lists its Vary field names, as lib/middleware/vary.js does for the
// app middleware. Every entry is indexed under an internal tag per URL (in the WHATWG URL
// parser's form, the form RFC 9111 4.4 invalidation targets are resolved in), so invalidating a
// URL reaches all of its variants, for every Host and every spelling of its target that parses
// alike, in every process, with the store's fences against fills already under way.
const binding = require('../binding');
const { decodeStored } = require('../entry');
const { toFieldMap, fromFieldMap, fieldValues } = require('../http/header-fields');
const { requestPath } = require('../http/paths');
const { varyFieldNames, secondaryKey } = require('../http/variants');
const { strippedFields } = require('../http/storable');
const { freshnessLifetime, initialAge, staleWindowsMs } = require('../http/freshness');
const { checkTags } = require('../stores/contract');
const { StoreError } = require('../errors');
const { FORWARDED_FIELDS } = require('./upstream');

const RECORD = 'vr:';
const NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const MAX_VARY_NAMES = 64;
const MAX_LIFETIME_MS = 10 * 365 * 86400000;

/** Whether entry `e` was stored or validated after `seen` (by its times). */
function newer(e, seen) {
  return e.storedAt > seen.storedAt || e.expiresAt > seen.expiresAt;
}

/** The stored form of entry `e` (entryFor's): binding.encodeEntry's bytes; throws as it does. */
function encode(e) {
  return binding.encodeEntry(e.status, e.headers, e.body, e.storedAt, e.expiresAt);
}

class GatewayEntries {
  /**
   * @param {object} store the cache's store (lib/stores/contract.js)
   * @param {string} keyPrefix
   * @param {object} o validated proxy options (lib/gateway/options.js)
   * @param {(err: Error) => void} report
   */
  constructor(store, keyPrefix, o, report) {
    this.store = store;
    this.keyPrefix = keyPrefix;
    this.o = o;
    this.report = report;
    this.acceptRecord = (entry) => {
      const names = entry.meta.vary;
      if (entry.meta.kind !== 'vary' || names.length === 0 || !names.every((n) => NAME.test(n))) return false;
      entry.names = names;
      return true;
    };
  }

  /**
   * The base key of a request: its absolute upstream URL as sent, and, with the `xForwarded`
   * option, every forwarded field it is sent with (FORWARDED_FIELDS, '' for one not sent).
   * @param {{ url: string, headers: object }} request
   */
  baseKey(request) {
    const parts = ['GET', request.url];
    if (this.o.xForwarded) {
      for (const name of FORWARDED_FIELDS) parts.push(String(request.headers[name] ?? ''));
    }
    return `${this.keyPrefix}:gw:${binding.hashKey(parts)}`;
  }

  /** The key of the variant of `base` a request selects on the Vary field `names`. */
  variantKey(base, names, reqHeaders) {
    return names.length === 0 ? base : `${base}:${binding.hashKey([secondaryKey(names, reqHeaders)])}`;
  }

  /**
   * The internal tag every stored response of `url` is indexed under: the URL as the WHATWG
   * parser reads it, without its fragment, which is how invalidationTargets resolves the target,
   * Location and Content-Location of an unsafe request (so `/q/{id}` and `/q/%7Bid%7D`, or `/a/./b`
   * and `/a/b`, share a tag: invalidating one spelling drops the others too, a refill at worst).
   */
  urlTag(url) {
    let parsed = url;
    try {
      const u = new URL(url);
      u.hash = '';
      parsed = u.href;
    } catch {
      // not a URL the parser takes: its own tag
    }
    return `respcache:gw:${binding.hashKey([parsed])}`;
  }

  /**
   * The fill context of a request (store.putEntry's `fill`): the paths its entry is indexed under
   * (the upstream URL's, and the client's when different), the URL tag; started now.
   * @param {{ url: string, paths?: string[] }} request
   */
  fillFor(request) {
    const paths = [...new Set([requestPath({ url: request.url }), ...(request.paths || [])])];
    return { ns: null, nsVersion: null, path: paths, tags: [this.urlTag(request.url)], startedAt: performance.now() };
  }

  /**
   * Finds the stored response a request selects: the entry under the base key, or, when the
   * base key holds a vary record, under the variant key. Rejects on store faults.
   * @returns {Promise<{ base: string, key: string, names: string[]|null, entry: object|null }>}
   */
  async lookup(request, fill) {
    const base = this.baseKey(request);
    const found = await this.store.lookup(base, fill, { record: base, accept: this.acceptRecord, lockTtl: 0 });
    if (found.entry !== null && found.entry.meta.kind === 'response') return { base, key: base, names: null, entry: found.entry };
    if (found.record === null || found.record === undefined) return { base, key: base, names: null, entry: null };
    const names = found.record.names;
    const key = this.variantKey(base, names, request.headers);
    return { base, key, names, entry: await this.store.getEntry(key, fill) };
  }

  /** A fresh entry under `key` (another process's fill), or null. */
  readFresh(key, now) {
    return this.store.getEntry(key, null).then((e) => (e !== null && e.expiresAt > now() ? e : null));
  }

  /**
   * The entry under `key` when it is newer than `seen` (another process validated or replaced it
   * since `seen` was read), or null. Times only: the bytes of one entry may differ by where they
   * were read from.
   */
  readNewer(key, seen) {
    return this.store.getEntry(key, null).then((e) => (e !== null && newer(e, seen) ? e : null));
  }

  /**
   * What freshness.servable needs of a stored entry: storedAt is responseTime − initial age, so
   * its current age is now − storedAt.
   */
  storedView(entry) {
    return { headers: entry.headers, status: entry.status, lifetimeMs: entry.expiresAt - entry.storedAt, initialAgeMs: 0,
      responseTime: entry.storedAt };
  }

  /**
   * An entry for a response: its stored headers (hop-by-hop, Connection-named and private=
   * fields, Age and Set-Cookie removed; Date as received), its times and how long the store keeps
   * it: the rest of its freshness, its stale windows, and `retainStale` when it has a validator
   * (so it can still be revalidated). A `keepMs` below 1 means it is not to be stored. Its
   * freshness lifetime is HTTP's (RFC 9111 4.2), at most the `ttl` option's, unless `overrideMs`
   * replaces it.
   * @param {{ status: number, headers: object, requestTime: number, responseTime: number }} res
   * @param {Buffer} body
   * @param {number|null} [overrideMs] a lifetime that replaces HTTP freshness: a cache.fetch()
   *   call's `ttl` (lifetimeFor), or 0 for an entry kept stale
   * @returns {{ status: number, headers: string[], body: Buffer, storedAt: number, expiresAt: number,
   *   keepMs: number }}
   */
  entryFor(res, body, overrideMs = null) {
    const o = this.o;
    let lifetime = overrideMs;
    if (lifetime === null) {
      lifetime = Math.min(MAX_LIFETIME_MS, freshnessLifetime(res.headers, {
        status: res.status, shared: true, heuristicFraction: o.heuristicFraction, heuristicMaxMs: o.heuristicMaxMs,
        heuristicStatuses: o.heuristicStatuses, cdnCacheControl: o.cdnCacheControl, responseTime: res.responseTime,
      }).ms);
      // The option only narrows RFC 9111: what HTTP says is stale stays stale.
      if (o.ttlCapMs !== null) lifetime = Math.min(lifetime, o.ttlCapMs);
    }
    const age = initialAge(res.headers, res.requestTime, res.responseTime);
    const storedAt = res.responseTime - age;
    const windows = staleWindowsMs(res.headers, { shared: true, cdnCacheControl: o.cdnCacheControl });
    const validator = fieldValues(res.headers, 'etag').length > 0 || fieldValues(res.headers, 'last-modified').length > 0;
    const keepMs = Math.floor(Math.max(lifetime - age, 0) + Math.max(windows.whileRevalidateMs, windows.ifErrorMs)
      + (validator ? o.retainStaleMs : 0));
    const fields = toFieldMap(res.headers);
    for (const name of strippedFields(res.headers, { cdnCacheControl: o.cdnCacheControl }).drop) fields.delete(name);
    fields.delete('age');
    fields.delete('set-cookie');
    return { status: res.status, headers: fromFieldMap(fields, true), body, storedAt, expiresAt: storedAt + lifetime, keepMs };
  }

  /** The Vary field names of stored headers when the cache keeps such a response, else null. */
  varyNames(headers) {
    const names = varyFieldNames(headers);
    return names[0] === '*' || names.length > MAX_VARY_NAMES || !names.every((n) => NAME.test(n)) ? null : names;
  }

  /**
   * Stores an entry for `request` under the key its Vary selects, writing the vary record when
   * it varies (and, when the lookup found no record, removing an entry under the bare base key,
   * which would answer every variant). Resolves with { key, encoded, stored, faulted } (faulted:
   * the store failed, rather than refused it; encoded null when it cannot be encoded); never
   * rejects.
   * @param {{ headers: object }} request
   * @param {{ base: string, names: string[]|null }} found the lookup's
   * @param {object} entry from entryFor
   * @param {object} fill from fillFor
   */
  async put(request, found, entry, fill) {
    const base = found.base;
    const names = this.varyNames(entry.headers);
    if (names === null) return { key: base, encoded: null, stored: false };
    const key = this.variantKey(base, names, request.headers);
    let encoded;
    try {
      encoded = encode(entry);
    } catch (err) {
      this.report(err);
      return { key, encoded: null, stored: false };
    }
    const ttl = Math.max(1, Math.ceil(entry.keepMs));
    let stored;
    try {
      stored = this.store.putEntry(key, encoded, ttl, fill);
    } catch (err) {
      stored = Promise.reject(err);
    }
    if (names.length > 0) this.putRecord(base, names, entry.storedAt, ttl, found.names === null);
    let faulted = false;
    const result = await stored.then((ok) => ok === true, (err) => {
      this.report(err);
      faulted = true;
      return false;
    });
    return { key, encoded, stored: result, faulted };
  }

  putRecord(base, names, now, ttlMs, dropBase) {
    try {
      const record = binding.encodeEntry(200, [], Buffer.alloc(0), now, now + ttlMs, { kind: 'vary', vary: names });
      this.store.putRecord(RECORD, base, record, ttlMs, undefined).catch(this.report);
      if (dropBase) this.store.deleteEntry(base, false).catch(this.report);
    } catch (err) {
      this.report(err);
    }
  }

  /**
   * The freshness lifetime (ms) a request imposes on what it stores, replacing HTTP's: its `ttl`
   * (a cache.fetch() call's override, asked for service-to-service calls), else null (HTTP rules,
   * capped by the `ttl` option in entryFor).
   */
  lifetimeFor(request) {
    const ttl = request.ttl;
    return ttl === undefined || ttl === null ? null : Math.max(1, Math.round(ttl * 1000));
  }

  /**
   * The entry's tags: the URL's own, the `tags` option's and the request's. Throws a StoreError
   * when they cannot be had.
   */
  tagsFor(request, res, fill) {
    const tags = this.o.tags;
    const call = request.tags || [];
    if (tags === null) return call.length === 0 ? fill.tags : [...new Set([...fill.tags, ...call])];
    let own = tags;
    if (typeof tags === 'function') {
      try {
        own = checkTags(tags(request, res), 'what the "tags" function of cache.proxy() returned');
      } catch (err) {
        throw new StoreError(`the tags of the response for ${request.url} could not be had: ${err.message}`, { cause: err });
      }
    }
    return [...new Set([...fill.tags, ...own, ...call])];
  }

  /** Decodes entry bytes handed over by a coalesced fill: the entry, or null. */
  decode(bytes) {
    const entry = decodeStored(bytes);
    return typeof entry === 'string' ? null : entry;
  }

  /**
   * Removes every stored response (every variant) for each absolute URL, in every process.
   * @param {string[]} urls
   * @returns {Promise<number>} entries removed
   */
  invalidate(urls) {
    if (urls.length === 0) return Promise.resolve(0);
    return this.store.invalidate(urls.map((url) => `t:${this.urlTag(url)}`));
  }
}

module.exports = { GatewayEntries, newer, encode };
