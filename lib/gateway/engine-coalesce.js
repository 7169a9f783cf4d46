'use strict';

// Coalescing for the shared cache (engine.js): one request per key goes upstream, in this process
// (lib/inflight.js) and across processes (store.acquire); the others are answered from the entry
// it stored, when that entry may serve them (RFC 9111 4), or go on alone. A waiting request still
// ends when its own signal aborts (cache.fetch's timeout, the caller's abort, the proxy's client
// leaving); what it leaves behind is ended for the others. When the store cannot be asked, the
// requests of this process for a URL still share one upstream fetch, as the app middleware's do
// (lib/middleware/coalesce.js): the leader's response, encoded as it would have been stored, is
// handed to those that select the same variant.
const debug = require('debug')('respcache');
const { UpstreamError } = require('../errors');
const { servable } = require('../http/freshness');
const { varyFieldNames, secondaryKey } = require('../http/variants');
const { answerFromEntry } = require('./engine-answer');
const { onceOnly } = require('./engine-request');

/**
 * What a request that stops waiting because its signal aborted rejects with: the signal's reason
 * when it is an UpstreamError (cache.fetch's UpstreamTimeoutError), else an UpstreamError caused
 * by it, as a leader's aborted upstream request rejects (callers that own the signal, such as
 * cache.fetch, rethrow its reason).
 */
function abortError(signal) {
  const reason = signal.reason;
  if (reason instanceof UpstreamError) return reason;
  return new UpstreamError('the request was aborted while it waited for a concurrent request for the same URL', { cause: reason });
}

/** `promise`, or a rejection as soon as `signal` aborts (at once when it has). */
function untilAborted(promise, signal) {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    }, (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

/**
 * A follower's answer from the entry its leader stored, only when that entry is servable to the
 * follower's own request (RFC 9111 4: fresh, or stale where allowed; a no-cache or max-age=0
 * response, or a request's no-cache or max-age=0, needs a validation); else `alone()`.
 */
function coalescedHit(engine, request, entry, cacheStatus, alone) {
  const s = servable(engine.entries.storedView(entry), request.headers, engine.clock.now(),
    { shared: true, cdnCacheControl: engine.o.cdnCacheControl });
  if (s.state === 'revalidate') {
    debug('gateway: the coalesced entry for %s is not servable to a follower: it goes on alone', request.url);
    return alone();
  }
  engine.reporter.outcome(request, 'hit_coalesced');
  return answerFromEntry(request, entry, { ageMs: s.ageMs, cacheStatus,
    omit: cacheStatus === 'HIT' ? engine.omitted(entry) : [] });
}

/**
 * A request that joined this process's flight for its key: answered from the entry the leader
 * handed over when there is one and `accept(entry)` says it may serve this request, else alone().
 */
async function follow(engine, request, wait, { accept, cacheStatus, alone }) {
  const outcome = await untilAborted(wait, request.signal);
  const entry = outcome.kind === 'value' ? engine.entries.decode(outcome.payload) : null;
  return entry !== null && accept(entry) ? coalescedHit(engine, request, entry, cacheStatus, alone) : alone();
}

/**
 * Has one request per key go upstream, in this process and across processes: followers are
 * answered from the entry the leader stored, or go on alone when it stored none.
 * @param {import('./engine').SharedCache} engine
 * @param {{ lead: (done: (encoded: Buffer|null) => void) => Promise<object>, read: () => Promise<object|null>,
 *   alone: () => Promise<object>, cacheStatus: string }} how `lead` goes upstream and calls done once
 *   with the entry it stored under this key, or null; `read`: the entry another process stored
 *   (store.acquire's); `alone`: a follower's exchange when the leader stored nothing; `cacheStatus`:
 *   a follower's; `accept` (optional): whether a follower takes the entry handed over in this process
 */
async function coalesce(engine, request, found, { lead, read, alone, cacheStatus, accept = () => true }) {
  const { o, inflight, store } = engine;
  const key = found.key;
  const wait = inflight.join(key, o.coalesceTimeout);
  if (wait !== null) return follow(engine, request, wait, { accept, cacheStatus, alone });
  const acquiring = store.acquire(`e:${key}`, read, o).catch((err) => {
    engine.report(err);
    return { own: true };
  });
  let decision;
  try {
    decision = await untilAborted(acquiring, request.signal);
  } catch (err) {
    // This request leads the key in this process but leaves: when its wait ends, the requests of
    // this process that joined it get the entry another process stored, or go on alone; a lock
    // taken for it is given back at once, so another process's waiter takes the fill over.
    acquiring.then((left) => {
      if (left.entry) {
        inflight.complete(key, left.entry.bytes);
        return;
      }
      inflight.fail(key);
      if (left.token !== undefined) store.giveBack(`e:${key}`, left.token);
    });
    throw err;
  }
  if (decision.entry) {
    inflight.complete(key, decision.entry.bytes);
    return coalescedHit(engine, request, decision.entry, cacheStatus, alone);
  }
  const token = decision.token;
  const done = onceOnly((encoded) => {
    if (encoded !== null) inflight.complete(key, encoded);
    else inflight.fail(key);
    if (token !== undefined) store.release(`e:${key}`, token, encoded !== null);
  });
  try {
    return await lead(done);
  } catch (err) {
    done(null);
    throw err;
  }
}

/**
 * Whether a response handed over by a leader whose lookup failed answers a follower: without
 * Vary always; with Vary, when the follower's request selects the same variant as the leader's
 * (RFC 9111 4.1; no vary record could be read).
 */
function sameVariant(entry, leaderHeaders, reqHeaders) {
  const names = varyFieldNames(entry.headers);
  if (names.length === 0) return true;
  return leaderHeaders !== undefined && secondaryKey(names, leaderHeaders) === secondaryKey(names, reqHeaders);
}

/**
 * A coalescable request whose lookup failed (the store cannot be asked): forwarded (BYPASS), one
 * per URL at a time in this process. The leader's response, when storable, is encoded as it would
 * have been stored (nothing is written) and handed to the requests that joined it, which are
 * answered from it (HIT) when it may serve them; the others go upstream alone. No lock across
 * processes: the store is out of reach. The flight has a name of its own: a request whose lookup
 * succeeded must never be handed a response selected by another request's Vary fields.
 * @param {import('./engine').SharedCache} engine
 */
async function coalesceOffline(engine, request) {
  const base = engine.baseKey(request);
  const key = `${base}:offline`;
  const alone = () => {
    engine.reporter.outcome(request, 'bypass');
    return engine.forward(request, 'BYPASS', null, null, null);
  };
  if (engine.passes.has(base)) return alone();
  const wait = engine.inflight.join(key, engine.o.coalesceTimeout);
  if (wait !== null) {
    const leaderHeaders = engine.offlineLeaders.get(key); // read now: the leader's end deletes them
    const accept = (entry) => sameVariant(entry, leaderHeaders, request.headers);
    return follow(engine, request, wait, { accept, cacheStatus: 'HIT', alone });
  }
  engine.offlineLeaders.set(key, request.headers);
  const done = onceOnly((encoded) => {
    engine.offlineLeaders.delete(key);
    if (encoded !== null) engine.inflight.complete(key, encoded);
    else engine.inflight.fail(key);
  });
  engine.reporter.outcome(request, 'bypass');
  try {
    return await engine.forward(request, 'BYPASS', null, engine.entries.fillFor(request), done);
  } catch (err) {
    done(null);
    throw err;
  }
}

module.exports = { coalesce, coalesceOffline, untilAborted };
