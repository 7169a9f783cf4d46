'use strict';

// Prometheus metrics through prom-client (an optional peer dependency: required only when
// cache.metrics() is called). Names follow the Prometheus conventions: a respcache_ namespace,
// _total for counters, base units (seconds, bytes).

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * The route label: the route's pattern (bounded cardinality), never the URL. A mounted sub-app's
 * mount pattern comes first; a Router's mount path is left out, since req.baseUrl is the URL it
 * matched, parameter values included ('/users/42' for app.use('/users/:id', router)).
 */
function routeLabel(req) {
  const pattern = req.route && typeof req.route.path === 'string' ? req.route.path : '';
  const mount = req.app && typeof req.app.mountpath === 'string' && req.app.mountpath !== '/' ? req.app.mountpath : '';
  const label = `${mount}${pattern}`;
  return label || '(middleware)';
}

class Metrics {
  /**
   * @param {import('./cache').Cache} cache
   * @param {import('prom-client').Registry} register
   * @param {string} prefix
   */
  constructor(cache, register, prefix) {
    let client;
    try {
      client = require('prom-client');
    } catch (err) {
      throw new Error('cache.metrics() needs prom-client: npm install prom-client', { cause: err });
    }
    const registers = [register];
    this.requests = new client.Counter({
      name: `${prefix}requests_total`,
      help: 'Requests that reached a cached route, by route and outcome (hit, hit_local, hit_coalesced, miss, bypass, stale)',
      labelNames: ['route', 'outcome'],
      registers,
    });
    this.stores = new client.Counter({
      name: `${prefix}stores_total`,
      help: 'Entries written, by result (ok, failed)',
      labelNames: ['result'],
      registers,
    });
    this.errors = new client.Counter({
      name: `${prefix}errors_total`,
      help: 'Cache faults reported on the error event, by code',
      labelNames: ['code'],
      registers,
    });
    this.lookupSeconds = new client.Histogram({
      name: `${prefix}lookup_duration_seconds`,
      help: 'Time from the start of a lookup to its answer, by tier that answered (local, redis)',
      labelNames: ['tier'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.storeSeconds = new client.Histogram({
      name: `${prefix}store_duration_seconds`,
      help: 'Time from issuing an entry write to Redis to its acknowledgement',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    new client.Gauge({
      name: `${prefix}local_entries`,
      help: 'Entries held by the in-process tier',
      registers,
      collect() {
        const local = cache.localStats();
        this.set(local ? local.entries : 0);
      },
    });
    new client.Gauge({
      name: `${prefix}local_bytes`,
      help: 'Bytes held by the in-process tier (keys, entries and bookkeeping)',
      registers,
      collect() {
        const local = cache.localStats();
        this.set(local ? local.bytes : 0);
      },
    });
  }

  request(req, outcome) {
    this.requests.inc({ route: routeLabel(req), outcome });
  }
}

module.exports = { Metrics, routeLabel };
