'use strict';

// Background refresh for stale-while-revalidate. The request that found a stale entry is answered
// from it at once; a copy of that request (GET, same URL, same headers less the conditional and
// body ones) is dispatched through the same Express app, from its root, with a real
// http.ServerResponse on a socket that discards what is written to it. Every app middleware runs
// as for a client; the copy carries REFRESH, so the cached route that started it runs its handler
// and stores the response through the normal capture path instead of answering from the cache.
// One refresh per key at a time: per cache in this process, and across processes through a
// SET NX PX lock `<prefix>:l:r:<key>` that the other processes do not wait for.
const http = require('http');
const { Duplex } = require('stream');
const debug = require('debug')('respcache');
const { RefreshError } = require('../errors');

/** On a request that is a refresh: { owner, key, keying, fill, claimed, entry }. */
const REFRESH = Symbol('respcache.refresh');

// Request headers a refresh does not carry: its own conditions would turn the response it stores
// into a 304, it has no body, and the client's Accept-Encoding would let a compression layer
// after the cache encode the body, which is then not stored (and the stale entry dropped).
const NOT_FORWARDED = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since',
  'if-range', 'content-length', 'transfer-encoding', 'expect', 'accept-encoding']);

/** A socket that accepts and discards what the refresh's response writes. */
class DiscardSocket extends Duplex {
  /** @param {import('net').Socket|undefined} like the client's socket, whose addresses app code may read */
  constructor(like) {
    super();
    this.remoteAddress = like && like.remoteAddress;
    this.remotePort = like && like.remotePort;
    this.remoteFamily = like && like.remoteFamily;
    this.localAddress = like && like.localAddress;
    this.localPort = like && like.localPort;
    this.encrypted = like && like.encrypted;
  }

  _read() {}

  _write(chunk, encoding, callback) { callback(); }

  setTimeout() { return this; }

  setNoDelay() { return this; }

  setKeepAlive() { return this; }
}

/** The Express app at the root of the one handling `req` (mounted sub-apps know their parent). */
function rootApp(req) {
  let app = req.app;
  while (app && app.parent) app = app.parent;
  return app && typeof app.handle === 'function' ? app : null;
}

/**
 * Whether `req` can be refreshed in the background: a GET or HEAD (the refresh replays a bodiless
 * GET, which is not what a cached POST route answers) handled by an Express app.
 */
function canRefresh(req) {
  return (req.method === 'GET' || req.method === 'HEAD') && rootApp(req) !== null;
}

/** A GET for the same URL with the same headers (less NOT_FORWARDED), on a discarding socket. */
function refreshRequest(req) {
  const socket = new DiscardSocket(req.socket);
  const copy = new http.IncomingMessage(socket);
  copy.method = 'GET';
  copy.url = req.originalUrl || req.url;
  copy.httpVersionMajor = 1;
  copy.httpVersionMinor = 1;
  copy.httpVersion = '1.1';
  const raw = [];
  const source = req.rawHeaders || [];
  for (let i = 0; i + 1 < source.length; i += 2) {
    if (!NOT_FORWARDED.has(source[i].toLowerCase())) raw.push(source[i], source[i + 1]);
  }
  const headers = {};
  // Node's own rules for repeated headers (joined, dropped or kept as an array).
  for (let i = 0; i < raw.length; i += 2) copy._addHeaderLine(raw[i], raw[i + 1], headers);
  copy.rawHeaders = raw;
  copy.headers = headers;
  copy.complete = true;
  copy.push(null);
  const res = new http.ServerResponse(copy);
  res.assignSocket(socket);
  return { req: copy, res, socket };
}

/**
 * Refreshes the entry stored under `key` in the background, unless this process refreshes it
 * already, failed to less than a second ago (lib/inflight.js), or another process holds its
 * refresh lock. The outcome is reported: 'refreshed' (key) on the cache when the new entry was
 * stored, an ERR_RESPCACHE_REFRESH 'error' when the handler failed.
 * @param {object} r the route context (lib/middleware/index.js): its owner (the cached route's
 *   middleware) runs the handler; route handlerTimeout and lockTtl bound the refresh
 * @param {import('http').IncomingMessage} req the request that was answered from the stale entry
 * @param {string} key
 * @param {object|null} keying passed on to that route (vary discovery of the stored response)
 * @param {object|null} [entry] the stale entry, which a ttl: 'http' route revalidates
 *   (lib/middleware/revalidate.js: the handler runs with its validators as conditions)
 */
function startRefresh(r, req, key, keying, entry = null) {
  const app = rootApp(req);
  if (app === null || !r.inflight.startRefresh(key)) return;
  const lockName = `r:${key}`;
  r.store.tryLock(lockName, r.route.lockTtl).catch((err) => {
    r.report(err);
    return ''; // coordination failed: refresh anyway, as coalescing does
  }).then((token) => {
    if (token === null) {
      debug('refresh of %s: another process is refreshing it', key);
      r.inflight.dropRefresh(key);
      return;
    }
    run(r, app, req, key, keying, entry, (failed) => {
      r.store.unlock(lockName, token);
      r.inflight.endRefresh(key, failed);
    });
  });
}

function run(r, app, original, key, keying, entry, finished) {
  const route = r.route;
  const { req, res, socket } = refreshRequest(original);
  const timeoutMs = route.handlerTimeout !== null ? route.handlerTimeout : route.lockTtl;
  let settled = false;
  let timer = null;

  function settle(failure, cause) {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (failure !== null) {
      r.report(new RefreshError(`the background refresh of "${key}" failed: ${failure}; ` +
        'the stale entry is served until its window ends', { cause }));
    }
    finished(failure !== null);
    // Lets the capture layer see the response closed; a handler still running writes nowhere.
    setImmediate(() => socket.destroy());
  }

  const refresh = {
    owner: r.owner,
    key,
    keying,
    entry,
    claimed: false,
    fill: {
      // A late or failed response must not replace the entry (route statuses may list 5xx).
      get redis() { return !settled && res.statusCode < 500; },
      done(encoded, storing) {
        if (settled) return;
        if (res.statusCode >= 500) return settle(`the handler answered ${res.statusCode}`);
        if (encoded === null) {
          // The current response is not one the cache may keep: nor is the stale one, then.
          debug('refresh of %s: the new response is not stored; the stale entry is deleted', key);
          r.store.deleteEntry(key, false).catch(r.report);
        } else if (storing !== null) {
          // Announced once the new entry is in Redis, so whoever hears it reads the new entry.
          storing.then((stored) => { if (stored) r.cache.emit('refreshed', key); });
        }
        return settle(null);
      },
    },
  };
  req[REFRESH] = refresh;
  res.once('finish', () => {
    if (!refresh.claimed) settle(`the request was answered (${res.statusCode}) before it reached the cached route`);
  });
  timer = setTimeout(() => settle(`the handler did not finish within ${timeoutMs} ms`), timeoutMs);
  timer.unref(); // a refresh alone never keeps the process alive
  try {
    app.handle(req, res, (err) => {
      // Express's last resort: an error nothing answered, or no route took the request.
      settle(err ? `the handler failed: ${err && err.message}` : 'no route answered the request', err);
    });
  } catch (err) {
    settle(`dispatching it failed: ${err && err.message}`, err);
  }
}

module.exports = { REFRESH, startRefresh, canRefresh };
