'use strict';

// What the built-in key and Express make of a request target. An app (Express 4 or 5, the cache
// on each route or on a router) answers every request with what its handler saw; the cache never
// stores (so every request reaches a handler) and exposes the key it computed.
const { serve } = require('./http');
const { rawRequest } = require('./raw-http');

/**
 * @param {Function} express the express module (4 or 5)
 * @param {'route'|'router'} level where the cache middleware sits
 * @param {object} cache a respcache Cache
 */
async function probeApp(express, level, cache) {
  const mw = () => cache.middleware({ exposeKey: true, statuses: [200, 404], condition: () => false });
  const echo = (h) => (req, res) => res.status(h === '404' ? 404 : 200)
    .json({ h, path: req.path, base: req.baseUrl, query: req.query });
  const app = express();
  if (level === 'route') {
    app.get('/m/api', mw(), echo('api'));
    app.get('/m/a/b', mw(), echo('a/b'));
    app.get('/m/:id', mw(), echo(':id'));
    app.get(/^\/m\/.+\/x$/, mw(), echo('regex'));
    app.use(mw(), echo('404'));
  } else {
    const router = express.Router();
    router.use(mw());
    router.get('/api', echo('api'));
    router.get('/a/b', echo('a/b'));
    router.get('/:id', echo(':id'));
    router.get(/^\/.+\/x$/, echo('regex'));
    router.use(echo('404'));
    app.use('/m', router);
    app.use(echo('unmounted'));
  }
  const http = await serve(app);
  return {
    http,
    /**
     * @param {string} target latin1: each char is one byte on the wire
     * @returns {Promise<{ target: string, key?: string, status: number, h?: string, path?: string, base?: string,
     *   query?: unknown }>} without a key when Node or Express refused the target before a cached layer
     */
    async observe(target) {
      const reply = await rawRequest(http.port, target);
      // Express's own 400 (a route parameter it cannot decode) may come after a router-level cache
      // computed a key: no handler ran, nothing is stored (400 is not a storable status here).
      if (reply.headers['x-cache-key'] === undefined || reply.status === 400) {
        return { target, status: reply.status, h: reply.status === 400 ? undefined : JSON.parse(reply.text).h };
      }
      return { target, status: reply.status, key: reply.headers['x-cache-key'], ...JSON.parse(reply.text) };
    },
  };
}

/** Sorted-keys JSON: equal for deep-equal values whatever the order of object keys. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The documented rule, computed independently of the cache: requests (same method and Host, no
 * rewrite of req.url before the cache) share a key exactly when these strings are equal: the path
 * as sent (cut after url.parse()'s trimming where Express uses that parser), which URL parser
 * Express uses for the target, and req.query, or the raw query when req.query is empty although
 * the target has a query string.
 */
function ruleOf(observation) {
  const t = observation.target;
  const legacy = !t.startsWith('/') || /[\t\n\f\r #\u00a0\ufeff]/.test(t);
  const parsed = legacy ? t.replace(/^[\u0000-\u0020\u00a0\ufeff]+|[\u0000-\u0020\u00a0\ufeff]+$/g, '') : t;
  const cut = parsed.search(/[?#]/);
  const path = cut === -1 ? parsed : parsed.slice(0, cut);
  const rawQuery = cut !== -1 && parsed[cut] === '?' ? parsed.slice(cut + 1).split('#')[0] : '';
  const empty = Object.keys(observation.query).length === 0;
  const query = empty && rawQuery !== '' ? `raw ${JSON.stringify(parsed.slice(cut))}` : canonical(observation.query);
  return `${JSON.stringify(path)} ${legacy} ${query}`;
}

/** What Express did with the request: the handler, the path it routed on and the query. */
function routingOf(observation) {
  return canonical({ h: observation.h, path: observation.path, base: observation.base, query: observation.query });
}

/**
 * Checks a list of observations pairwise, through maps: keys equal exactly when the rule says so,
 * and never for two requests that Express routed differently.
 * @returns {{ pairs: number, violations: string[] }}
 */
function checkObservations(observations) {
  const byKey = new Map();
  const byRule = new Map();
  const violations = [];
  for (const o of observations) {
    const rule = ruleOf(o);
    const seen = byKey.get(o.key);
    if (seen === undefined) byKey.set(o.key, o);
    else {
      if (ruleOf(seen) !== rule) violations.push(`same key, rule differs: ${JSON.stringify(seen.target)} ${JSON.stringify(o.target)}`);
      if (routingOf(seen) !== routingOf(o)) {
        violations.push(`same key, routed differently: ${JSON.stringify(seen.target)} -> ${routingOf(seen)}; ${JSON.stringify(o.target)} -> ${routingOf(o)}`);
      }
    }
    const sameRule = byRule.get(rule);
    if (sameRule === undefined) byRule.set(rule, o);
    else if (sameRule.key !== o.key) violations.push(`rule equal, keys differ: ${JSON.stringify(sameRule.target)} ${JSON.stringify(o.target)}`);
  }
  const n = observations.length;
  return { pairs: (n * (n - 1)) / 2, violations };
}

module.exports = { probeApp, checkObservations, ruleOf };
