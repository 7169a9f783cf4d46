'use strict';

// The front lane (cache.front(app)): a request listener for http.createServer() that answers HITs
// before the Express app sees the request, and hands everything else to the app. It answers what
// this process holds in memory (embedded store, near cache), and entries in Redis under keys this
// process read or wrote lately (most likely HITs: one GET). Express's per-request set-up and its router cost more than a whole in-process
// HIT (docs/benchmarks.md), so an entry answered here costs a fraction of one answered by the
// route's middleware.
//
// It serves only entries stored by routes that opted in with the route option `front: true`; the
// entry says so itself (meta.flags and meta.route, set when it was stored), so an entry of any
// other route, or one stored before the route opted in, always goes through the app. And only
// for routes that opted in in this process: a route registers its label when a request reaches
// it (cache._frontLabels), so entries that an earlier deployment's front route left in Redis are
// not served here once the route no longer opts in. Such a route is on the built-in key (no
// keyBuilder, no namespace, no vary option), so the key can be computed from the request as it
// arrived: method, Host, target as sent, and the query as the app's query parser reads it. An
// entry is served only to a request whose target is byte for byte the one it was stored for
// (meta.route holds it): Express parses that target as it did then, whatever the lane's own
// parse makes of other spellings, and whatever query parser setting changed since. A request the
// app would route on another path (middleware that rewrites req.url) gets another key and misses
// here. What the lane serves is exactly what the route's HIT would
// serve (same status, headers, body, conditional and HEAD handling, X-Cache headers); what it
// skips is every middleware before the route: opting a route in says that none of them changes
// its answer (no authentication, no rewriting) (docs/api.md "front").
//
// Anything but a fresh entry the requester may have (no entry, a stale one, one marked no-cache,
// credentials on a request for an entry not marked shareable, a request asking for a fresh answer
// on a route that honours that) goes to the app, which decides as it always does.
const { defaultKeyBuilder } = require('./http/keys');
const { requestWantsFresh, entrySharedExplicitly, entryNoCache, credentialed } = require('./http/storability');
const { serveHit } = require('./middleware/serve');

// meta.flags bits of entries stored by front routes.
const FRONT = 1;
const HONORS_NO_CACHE = 2;
const EXPOSES_KEY = 4;
const CACHES_HEAD = 8; // the route's methods include HEAD (else a HEAD goes to its handler)
// meta.route of a front entry: `${route label}\n${target as sent}`, at most this many bytes.
const ROUTE_META_LIMIT = 2048;

// Front routes are on the built-in key: the credentials rule of such a route applies.
const BUILTIN_KEY_ROUTE = Object.freeze({ keyBuilder: null });
const EXPOSED = Object.freeze({ route: Object.freeze({ exposeKey: true }) });
const HIDDEN = Object.freeze({ route: Object.freeze({ exposeKey: false }) });

/** The root of the Express app handling `req` (mounted sub-apps know their parent). */
function rootOf(app) {
  let root = app;
  while (root && root.parent) root = root.parent;
  return root;
}

/**
 * The meta.flags of the entry a route stores for `req`: 0 unless the route opted in, and 0 when
 * the app handling the request parses queries otherwise than its root app (the lane parses with
 * the app it was given, which is the root).
 */
function frontFlags(route, req) {
  if (!route.front) return 0;
  const app = req.app;
  if (app && typeof app.get === 'function') {
    const root = rootOf(app);
    if (root !== app && root.get('query parser fn') !== app.get('query parser fn')) return 0;
  }
  return FRONT | (route.honorRequestNoCache ? HONORS_NO_CACHE : 0) | (route.exposeKey ? EXPOSES_KEY : 0)
    | (route.methods.has('HEAD') ? CACHES_HEAD : 0);
}

/**
 * The meta fields of a front route's entry stored for `req` ({ flags: 0 } when it is not one):
 * its flags, and its route label with the target it was stored for.
 */
function frontMeta(route, req, label) {
  const flags = frontFlags(route, req);
  if (flags === 0) return NOT_FRONT;
  const text = `${label}\n${req.originalUrl || req.url}`;
  return Buffer.byteLength(text) > ROUTE_META_LIMIT ? NOT_FRONT : { flags, route: text };
}
const NOT_FRONT = Object.freeze({ flags: 0, route: undefined });

/** The query as the app parses it (its 'query parser fn' setting; none: parsing is off). */
function parsedQuery(app, url) {
  const parse = typeof app.get === 'function' ? app.get('query parser fn') : undefined;
  if (typeof parse !== 'function') return Object.create(null);
  const q = url.indexOf('?');
  const hash = url.indexOf('#');
  const end = hash === -1 ? url.length : hash;
  return parse(q === -1 || q > end ? '' : url.slice(q + 1, end));
}

/**
 * Answers `req` from `entry` (found under `key`) when a front route stored it for this very
 * request target and the request may have it; false when the app must answer.
 */
function serveInFront(cache, req, res, url, key, entry) {
  const flags = entry.meta.flags;
  if ((flags & FRONT) === 0) return false;
  const stored = entry.meta.route;
  const newline = stored === undefined ? -1 : stored.lastIndexOf('\n');
  if (newline === -1 || stored.slice(newline + 1) !== url) return false;
  const label = stored.slice(0, newline);
  if (!cache._frontLabels.has(label)) return false;
  if (req.method === 'HEAD' && (flags & CACHES_HEAD) === 0) return false;
  if ((flags & HONORS_NO_CACHE) !== 0 && requestWantsFresh(req)) return false;
  if (entryNoCache(entry.headers)) return false;
  if (credentialed(req, BUILTIN_KEY_ROUTE) && !entrySharedExplicitly(entry.headers)) return false;
  const clock = cache._clock;
  if (entry.expiresAt <= clock.now()) return false;
  cache._reporter.outcome({ route: { path: label } }, entry.tier === 'local' ? 'hit_local' : 'hit');
  const r = (flags & EXPOSES_KEY) !== 0 ? EXPOSED : HIDDEN;
  serveHit({ route: r.route, clock }, req, res, entry, key, false);
  return true;
}

/**
 * Answers `req` before the app when a front route stored a fresh entry for it: true when answered
 * from process memory, false when the app must answer, or a Promise of either when the entry is
 * in Redis under a key this process read or wrote lately (store.holds: most likely a HIT; any
 * other key is left to the app, whose lookup does what a MISS needs in its one round trip).
 */
function answerInFront(cache, app, req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const prefixes = cache._frontPrefixes;
  if (prefixes.size === 0) return false;
  const url = req.url || '/';
  // The request as the route's built-in key reads it, before Express: the target as sent is also
  // the path routed on, and the query is what the app's parser makes of it.
  const like = { method: req.method, headers: req.headers, url, originalUrl: url, query: parsedQuery(app, url) };
  const store = cache._store;
  for (const prefix of prefixes) {
    const key = defaultKeyBuilder(like, prefix);
    const entry = store.peek(key, null);
    if (entry !== null) return serveInFront(cache, req, res, url, key, entry);
    if (store.holds(key)) {
      return store.getEntry(key, null).then((found) => found !== null && serveInFront(cache, req, res, url, key, found));
    }
  }
  return false;
}

/**
 * The front lane of `app` on `cache`: (req, res) => void, for http.createServer().
 * @param {import('./cache').Cache} cache
 * @param {(req: object, res: object) => void} app an Express app (or any request listener; the
 *   query is then keyed as Express would key it without a parser)
 */
function createFront(cache, app) {
  if (typeof app !== 'function') throw new TypeError('Expected cache.front(app) to be given an Express app (a request listener)');
  return function respcacheFront(req, res) {
    let answered = false;
    try {
      answered = answerInFront(cache, app, req, res);
    } catch (err) {
      // A request the lane cannot key (the app's query parser threw, say) is the app's to answer.
      if (res.headersSent) throw err;
    }
    if (answered === true) return;
    if (answered === false) {
      app(req, res);
      return;
    }
    answered.then((done) => { if (!done) app(req, res); }, () => {
      // Redis could not answer: the app does (its route reports what it finds).
      if (!res.headersSent) app(req, res);
    });
  };
}

module.exports = { createFront, frontMeta };
