'use strict';

// The native RedisClusterClient as the tests drive it: its onEvent recorded, with a promise for
// the next event of a type, and the outcome of a command as a value to compare.
const { performance } = require('perf_hooks');
const { RedisClusterClient } = require('../../lib/binding');

/**
 * A RedisClusterClient seeded with every live node of `cluster`, commandTimeout 2000 unless
 * `options` says otherwise; `client.events` records { type, error, epoch, at } and
 * `client.next(type)` resolves with the error of the next event of that type.
 * @param {import('./cluster').Cluster} cluster
 * @param {object} [options] more RedisClusterClient options
 */
function recordingClusterClient(cluster, options = {}) {
  const events = [];
  const waiters = [];
  const client = new RedisClusterClient({
    nodes: cluster.live().map((n) => ({ host: '127.0.0.1', port: n.port })),
    commandTimeout: 2000,
    ...options,
    onEvent(type, error, epoch) {
      events.push({ type, error, epoch, at: performance.now() });
      for (const w of waiters.splice(0)) {
        if (w.type === type) w.resolve(error); else waiters.push(w);
      }
    },
  });
  client.events = events;
  client.next = (type) => new Promise((resolve) => waiters.push({ type, resolve }));
  client.ready = () => (client.status === 'ready' ? Promise.resolve() : client.next('ready'));
  return client;
}

/**
 * @param {Promise} promise
 * @returns {Promise<{ ok: true, value } | { ok: false, code: string, message: string }>}
 */
function outcome(promise) {
  return promise.then((value) => ({ ok: true, value }),
    (err) => ({ ok: false, code: err.code, message: err.message }));
}

module.exports = { recordingClusterClient, outcome };
