'use strict';

// SharedCache: one HTTP exchange through an RFC 9111 shared cache over the store contract. A
// GET or HEAD is looked up (engine-entries.js) and answered from storage when servable
// (lib/http/freshness.js: fresh, allowed stale, stale-while-revalidate with one background
// revalidation), validated upstream when not (a 304 refreshes the stored headers, 4.3.3-4.3.4;
// an error within stale-if-error serves it stale), or fetched, coalesced with concurrent misses
// of this process (lib/inflight.js) and of other processes (store.acquire; engine-coalesce.js),
// and stored when RFC 9111 section 3 allows. Unsafe methods are forwarded and, once they succeed,
// invalidate the stored responses of their target, Location and Content-Location (4.4). Store
// faults never fail an exchange: it is forwarded (BYPASS, still coalesced within this process) and
// the fault reported on the cache's 'error' event.
const debug = require('debug')('respcache');
const { Upstream } = require('./upstream');
const { Passes } = require('./passes');
const { GatewayEntries, newer, encode } = require('./engine-entries');
const { answerFromEntry, tee, readAll, EMPTY } = require('./engine-answer');
const { coalesce, coalesceOffline } = require('./engine-coalesce');
const { servable, onlyIfCached } = require('../http/freshness');
const { sharedStorable, strippedFields } = require('../http/storable');
const { revalidationHeaders, mergeNotModified, freshenWithHead, hasOriginPreconditions, selectStoredForNotModified }
  = require('../http/conditional');
const { invalidationTargets, SAFE_METHODS } = require('../http/invalidation-targets');
const { requestDirectives } = require('../http/cache-control');
const { formatHttpDate } = require('../http/http-date');
const { fieldValues } = require('../http/header-fields');
const { CLIENT_CONDITIONS, withoutConditions, checkOverrides } = require('./engine-request');

/**
 * Whether a 304 to the cache's own validation selects the stored response it validated (RFC
 * 9111 4.3.4): by its validators when it has any; without any, it answers the only validators the
 * request carried, the stored response's (4.3.4's "no validator" case is about a client's own
 * If-Modified-Since, not about a cache's revalidation of one stored response).
 */
function selectsValidated(storedHeaders, headers) {
  const validators = fieldValues(headers, 'etag').length + fieldValues(headers, 'last-modified').length;
  return validators === 0 || selectStoredForNotModified([storedHeaders], headers).length > 0;
}

class SharedCache {
  /**
   * @param {import('../cache').Cache} cache
   * @param {object} o validated options (lib/gateway/options.js)
   */
  constructor(cache, o) {
    this.o = o;
    this.store = cache._store;
    this.inflight = cache._inflight;
    this.reporter = cache._reporter;
    this.clock = cache._clock;
    this.report = this.reporter.report;
    this.upstream = new Upstream(o, this.clock);
    this.passes = new Passes(this.clock);
    // Coalescing across processes waits for fill notices: hear them from the start, or a waiter
    // of the first stampede misses the leader's notice and waits out its coalesceTimeout.
    if (o.coalesce) this.store.listen();
    this.entries = new GatewayEntries(this.store, cache.keyPrefix, o, this.report);
    // Flights of requests whose lookup failed (engine-coalesce.js): the leader's request headers.
    this.offlineLeaders = new Map();
  }

  /**
   * One exchange through the cache. Never rejects for cache faults; rejects with an
   * UpstreamError (UpstreamTimeoutError) when the upstream fails and nothing stale may be served.
   * @param {{ method: string, url: string, headers: object, body?: import('stream').Readable|Buffer|null,
   *   signal?: AbortSignal, paths?: string[], ttl?: number|null, tags?: string[]|null,
   *   onInterim?: (status: number, fields: object) => void }} request `url`:
   *   absolute upstream URL; `headers`: lowercased names, without hop-by-hop fields; `onInterim`:
   *   hears the interim (1xx) responses to this request's own trips upstream (never stored); `paths`: more
   *   paths to index the entry under; `ttl` (seconds): overrides the freshness lifetime of what
   *   this exchange stores (a cache.fetch call's; null: HTTP rules, capped by the `ttl` option); `tags`:
   *   added to the stored entry's tags
   * @returns {Promise<{ status: number, headers: object, body: import('stream').Readable|Buffer,
   *   cacheStatus: 'HIT'|'MISS'|'STALE'|'REVALIDATED'|'BYPASS' }>}
   */
  async handle(request) {
    checkOverrides(request);
    const method = request.method;
    if (method === 'GET' || method === 'HEAD') return this.read(request);
    if (SAFE_METHODS.has(method)) return this.pass(request);
    return this.write(request);
  }

  async pass(request) {
    const res = await this.upstream.send(request);
    return { status: res.status, headers: res.headers, body: res.body, cacheStatus: 'BYPASS' };
  }

  /** An unsafe method: forwarded; a 2xx/3xx invalidates its targets before it is answered. */
  async write(request) {
    const res = await this.upstream.send(request);
    const targets = invalidationTargets(request.method, res.status, request.url, res.headers);
    if (targets.length > 0) {
      debug('gateway: %s %s invalidates %s', request.method, request.url, targets.join(' '));
      await this.entries.invalidate(targets).catch(this.report);
    }
    return { status: res.status, headers: res.headers, body: res.body, cacheStatus: 'BYPASS' };
  }

  async read(request) {
    const o = this.o;
    const fill = this.entries.fillFor(request);
    let found;
    try {
      found = await this.entries.lookup(request, fill);
    } catch (err) {
      this.report(err);
      if (onlyIfCached(request.headers)) return this.gatewayTimeout(); // nothing stored can be had (5.2.1.7)
      if (this.coalescable(request)) return coalesceOffline(this, request);
      this.reporter.outcome(request, 'bypass');
      return this.forward(request, 'BYPASS', null, null, null);
    }
    const only = onlyIfCached(request.headers);
    const entry = found.entry;
    if (entry === null) {
      if (only) return this.gatewayTimeout();
      return this.miss(request, found, fill);
    }
    const s = servable(this.entries.storedView(entry), request.headers, this.clock.now(),
      { shared: true, cdnCacheControl: o.cdnCacheControl });
    if (s.state === 'revalidate') {
      if (only) return this.gatewayTimeout();
      if (!this.coalescable(request)) return this.revalidate(request, found, fill, s, null);
      return coalesce(this, request, found, {
        lead: (done) => this.revalidate(request, found, fill, s, done),
        read: () => this.entries.readNewer(found.key, entry),
        // A fill of this process under way may hand over the very entry found stale.
        accept: (handed) => newer(handed, entry),
        alone: () => this.revalidate(request, found, this.entries.fillFor(request), s, null),
        cacheStatus: 'REVALIDATED',
      });
    }
    if (s.state === 'fresh' && hasOriginPreconditions(request.headers) && !only) {
      // If-Match / If-Unmodified-Since are the origin's to evaluate (4.3.2).
      this.reporter.outcome(request, 'miss');
      return this.forward(request, 'MISS', found, fill, null);
    }
    if (s.state === 'stale-while-revalidate') this.refreshInBackground(request, found);
    this.reporter.outcome(request, s.state === 'fresh' ? 'hit' : 'stale');
    return answerFromEntry(request, entry, { ageMs: s.ageMs, cacheStatus: s.state === 'fresh' ? 'HIT' : 'STALE',
      omit: this.omitted(entry) });
  }

  /** The fields of a qualified no-cache: not sent without a successful validation (5.2.2.4). */
  omitted(entry) {
    return strippedFields(entry.headers, { cdnCacheControl: this.o.cdnCacheControl }).revalidateIfUsed;
  }

  /** RFC 9111 5.2.1.7: only-if-cached and nothing servable. */
  gatewayTimeout() {
    return { status: 504, headers: { date: formatHttpDate(this.clock.now()), 'content-length': '0' }, body: EMPTY,
      cacheStatus: 'MISS' };
  }

  /** The base key of a request (engine-entries.js: its URL as sent and, with xForwarded, the forwarded fields sent). */
  baseKey(request) {
    return this.entries.baseKey(request);
  }

  coalescable(request) {
    return this.o.coalesce && request.method === 'GET' && request.headers.authorization === undefined
      && request.headers.cookie === undefined
      && !CLIENT_CONDITIONS.some((name) => request.headers[name] !== undefined)
      && !requestDirectives(request.headers).has('no-store');
  }

  miss(request, found, fill) {
    if (!this.coalescable(request) || this.passes.has(found.key)) {
      this.reporter.outcome(request, 'miss');
      return this.forward(request, 'MISS', found, fill, null);
    }
    return coalesce(this, request, found, {
      lead: (done) => {
        this.reporter.outcome(request, 'miss');
        return this.forward(request, 'MISS', found, fill, done);
      },
      read: () => this.entries.readFresh(found.key, this.clock.now),
      alone: () => {
        this.reporter.outcome(request, 'miss');
        return this.forward(request, 'MISS', found, this.entries.fillFor(request), null);
      },
      cacheStatus: 'HIT',
    });
  }

  /**
   * Sends the request upstream and answers with its response, storing it when it may be
   * (found null: the store could not be asked, nothing is stored).
   * @param {((encoded: Buffer|null) => void)|null} done a coalesced fetch's end (see respond)
   */
  async forward(request, cacheStatus, found, fill, done) {
    let res;
    try {
      res = await this.upstream.send(request);
    } catch (err) {
      if (done !== null) done(null);
      throw err;
    }
    return this.respond(request, res, cacheStatus, found, fill, done);
  }

  /** Whether a response to `request` may be stored (RFC 9111 3, narrowed by the options). */
  storable(request, res) {
    const o = this.o;
    if (request.method !== 'GET') return false;
    if (o.statuses !== null && !o.statuses.has(res.status)) return false;
    const reason = sharedStorable('GET', res.status, request.headers, res.headers,
      { heuristicStatuses: o.heuristicStatuses, cdnCacheControl: o.cdnCacheControl });
    if (reason !== null) {
      debug('gateway: not storing %s: %s', request.url, reason);
      return false;
    }
    const declared = Number(res.headers['content-length']);
    return !(declared > o.maxBodyBytes);
  }

  /**
   * The answer with an upstream response, stored when it may be; `done` (when not null) is called
   * once with the entry stored under found.key, or null. found null: the store could not be asked,
   * nothing is stored, and `done`, if any, gets the entry encoded as it would have been stored.
   * @param {object} request the request the response answers, without the cache's own validators
   */
  respond(request, res, cacheStatus, found, fill, done) {
    const answer = { status: res.status, headers: res.headers, body: res.body, cacheStatus };
    if (found === null && done === null) return answer;
    const end = done || (() => {});
    const passKey = found === null ? this.baseKey(request) : found.key;
    if (!this.storable(request, res)) {
      // Hit-for-miss (passes.js) is learnt from what plain requests get: not from a 304 or 206 to
      // a client's own conditions or Range, nor from a request that may not be stored (no-store,
      // Authorization, Cookie).
      if (this.coalescable(request)) this.passes.mark(passKey);
      end(null);
      return answer;
    }
    this.passes.clear(passKey);
    const { out, kept } = tee(res.body, this.o.maxBodyBytes);
    kept.then((body) => this.keep(request, res, body, found, fill))
      .then(end, (err) => {
        this.report(err);
        end(null);
      });
    answer.body = out;
    return answer;
  }

  /**
   * Stores a complete body; resolves with the encoded entry when stored under found.key, else
   * null. found null (the store could not be asked): only encodes it.
   */
  async keep(request, res, body, found, fill) {
    if (body === null) return null;
    const declared = res.headers['content-length'];
    if (declared !== undefined && Number(declared) !== body.length) return null; // cut short
    const entry = this.entries.entryFor(res, body, this.entries.lifetimeFor(request));
    if (entry.keepMs < 1) return null;
    // What the store did not take is handed to this process's followers only when no invalidation
    // this process made or heard of came after the fill began (the store's fences cannot refuse
    // it for them; one made elsewhere and not heard of yet is not seen: docs/gateway.md).
    const unfenced = () => fill !== null && fill.startedAt > this.store.lastInvalidationAt;
    if (found === null) {
      // The store could not be asked: handed over as it would be stored.
      if (this.entries.varyNames(entry.headers) === null || !unfenced()) return null;
      return encode(entry);
    }
    const tags = this.entries.tagsFor(request, res, fill);
    const { key, encoded, stored, faulted } = await this.entries.put(request, found, entry, { ...fill, tags });
    // A store that failed (Redis past commandTimeout) still answers this process's followers; one
    // that was refused (an invalidation fenced the fill) answers none.
    return key === found.key && (stored || (faulted && unfenced())) ? encoded : null;
  }

  /**
   * Validates a stored response upstream (RFC 9111 4.3.1): a 304 refreshes it (REVALIDATED),
   * a 5xx or a failure within stale-if-error serves it (STALE; HIT while still fresh, when the
   * request asked for the validation), anything else is a new response.
   * @param {((encoded: Buffer|null) => void)|null} done a coalesced revalidation's end: called once
   *   with the entry stored under found.key, or null
   */
  async revalidate(request, found, fill, s, done) {
    const end = done || (() => {});
    const head = request.method === 'HEAD';
    const conditional = {
      // A HEAD is validated with a HEAD: its 200 freshens the stored response (4.3.5).
      ...request, method: head ? 'HEAD' : 'GET', body: null,
      headers: { ...withoutConditions(request.headers), ...revalidationHeaders(found.entry.headers) },
    };
    const stale = () => {
      end(null);
      const fresh = s.ageMs < this.entries.storedView(found.entry).lifetimeMs;
      this.reporter.outcome(request, fresh ? 'hit' : 'stale');
      return answerFromEntry(request, found.entry, { ageMs: s.ageMs, cacheStatus: fresh ? 'HIT' : 'STALE',
        omit: this.omitted(found.entry) });
    };
    let res;
    try {
      res = await this.upstream.send(conditional);
    } catch (err) {
      if (s.ifErrorMs > 0) {
        debug('gateway: serving %s stale (stale-if-error): %s', request.url, err.message);
        return stale();
      }
      end(null);
      throw err;
    }
    if (res.status === 304) {
      await readAll(res.body, 0).catch(() => null);
      if (!selectsValidated(found.entry.headers, res.headers)) {
        // A 304 for another representation than the one stored (4.3.4): ask for the full response.
        this.reporter.outcome(request, 'miss');
        return this.forward({ ...conditional, headers: withoutConditions(conditional.headers) }, 'MISS', found, fill, end);
      }
      const { entry, encoded } = await this.refreshed(conditional, found, fill, res);
      end(encoded);
      this.reporter.outcome(request, 'hit');
      return answerFromEntry(request, entry, { ageMs: Math.max(0, this.clock.now() - entry.storedAt), cacheStatus: 'REVALIDATED' });
    }
    if (res.status >= 500 && s.ifErrorMs > 0) {
      res.body.resume();
      return stale();
    }
    this.reporter.outcome(request, 'miss');
    if (head && res.status === 200) {
      end(null);
      await readAll(res.body, 0).catch(() => null);
      await this.freshened(conditional, found, fill, res);
      return { status: 200, headers: res.headers, body: EMPTY, cacheStatus: 'MISS' };
    }
    const answer = this.respond({ ...conditional, headers: withoutConditions(conditional.headers) }, res, 'MISS', found, fill, end);
    if (head) {
      if (typeof answer.body.resume === 'function') answer.body.resume();
      answer.body = EMPTY;
    }
    return answer;
  }

  /**
   * The stored entry updated by a 304 (RFC 9111 4.3.4), stored again; resolves with it and its
   * encoded bytes when they were stored under found.key (else null). When the update makes it a
   * response a shared cache may not store (the 304 says private, no-store...: 3, 5.2.2.5,
   * 5.2.2.7), the stored one is removed instead: the request that validated gets it, nobody after.
   * Only the response decides that: a request that may not store leaves the entry untouched.
   * @param {object|null} [merged] its new headers when already merged (a HEAD's, 4.3.5)
   * @param {number|null} [ttlMs] a lifetime overriding HTTP freshness (0: stored stale)
   */
  async refreshed(request, found, fill, res, merged = null, ttlMs = this.entries.lifetimeFor(request)) {
    const old = found.entry;
    const headers = merged || mergeNotModified(old.headers, res.headers,
      { responseTime: res.responseTime, cdnCacheControl: this.o.cdnCacheControl });
    const entry = this.entries.entryFor({ status: old.status, headers, requestTime: res.requestTime, responseTime: res.responseTime },
      old.body, ttlMs);
    const updated = { status: old.status, headers };
    if (!this.storable({ method: 'GET', url: request.url, headers: {} }, updated)) {
      await this.store.deleteEntry(found.key, false).catch(this.report);
      return { entry, encoded: null };
    }
    let encoded = null;
    // A request that may not store (no-store, credentials on a response not marked for sharing:
    // 5.2.1.5, 3.5) leaves the stored response as it was: neither updated nor removed.
    if (entry.keepMs >= 1 && this.storable({ ...request, method: 'GET' }, updated)) {
      try {
        const put = await this.entries.put(request, found, entry, { ...fill, tags: this.entries.tagsFor(request, res, fill) });
        if (put.stored && put.key === found.key) encoded = put.encoded;
      } catch (err) {
        this.report(err);
      }
    }
    return { entry, encoded };
  }

  /**
   * The stored GET response after a 200 to a HEAD (RFC 9111 4.3.5): its headers updated when the
   * HEAD response's validators (and Content-Length) match it, else kept as it is but stale.
   */
  freshened(request, found, fill, res) {
    const merged = freshenWithHead(found.entry.headers, res.headers,
      { responseTime: res.responseTime, cdnCacheControl: this.o.cdnCacheControl });
    if (merged !== null) return this.refreshed(request, found, fill, res, merged);
    return this.refreshed(request, found, fill, res, found.entry.headers, 0);
  }

  /** stale-while-revalidate: one revalidation per key at a time, in this process and across processes. */
  refreshInBackground(request, found) {
    const key = found.key;
    if (!this.inflight.startRefresh(key)) return;
    const run = async () => {
      const token = await this.store.tryLock(`r:${key}`, this.o.lockTtl);
      if (token === null) return false;
      try {
        const fill = this.entries.fillFor(request);
        const conditional = {
          ...request, method: 'GET', body: null, signal: undefined, onInterim: undefined,
          headers: { ...withoutConditions(request.headers), ...revalidationHeaders(found.entry.headers) },
        };
        const res = await this.upstream.send(conditional);
        if (res.status === 304) {
          await readAll(res.body, 0);
          await this.refreshed(conditional, found, fill, res);
          return false;
        }
        const body = await readAll(res.body, this.o.maxBodyBytes);
        if (res.status >= 500) return true;
        if (this.storable(conditional, res)) await this.keep(conditional, res, body, found, fill);
        return false;
      } finally {
        this.store.unlock(`r:${key}`, token);
      }
    };
    run().then((failed) => this.inflight.endRefresh(key, failed), (err) => {
      this.report(err);
      this.inflight.endRefresh(key, true);
    });
  }

  /** Closes the upstream connections (the store is the cache's). */
  close() {
    return this.upstream.close();
  }
}

module.exports = { SharedCache, CLIENT_CONDITIONS };
