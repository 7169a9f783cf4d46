'use strict';

// The part of the store-suite adapters (test/stores/store-suite.js) that stores kept in Redis
// share: a real redis-server for the file (test/helpers/redis.js), one key prefix per store opened,
// raw planting and inspection through a separate client, announcements published as another
// process would.
const { startRedis } = require('../helpers/redis');
const { certDir, pem } = require('../helpers/tls-certs');
const { once } = require('../helpers/wait');
const { RedisStore } = require('../../lib/stores/redis');
const { tlsOptions } = require('../../lib/tls-options');

/**
 * @param {(shared: RedisStore, options: object) => object} [wrap] builds the store under test
 *   around a RedisStore (the near cache); the RedisStore itself when omitted
 * @param {(store: object, name: string) => boolean} [holdsLocally] whether the store's own
 *   in-process tier holds `name`
 * @param {boolean} [tls] a TLS-only redis-server that requires client certificates; the store
 *   connects with the test CA and the client certificate
 * @returns {object} the adapter's setup/teardown/open, and `redis()` (the running server)
 */
function redisBacking({ wrap = (shared) => shared, holdsLocally = () => false, tls = false } = {}) {
  let redis = null;
  let seq = 0;

  function make(prefix, report, options) {
    const endpoint = { host: '127.0.0.1', port: redis.port, path: '', username: '', password: '', db: 0 };
    if (tls) {
      endpoint.tls = tlsOptions({ ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') }, 'tls');
    }
    const shared = new RedisStore({
      endpoint,
      keyPrefix: prefix, connectTimeout: 2000, commandTimeout: 2000,
    }, report);
    return wrap(shared, options);
  }

  async function opened(prefix, report, options) {
    const store = make(prefix, report, options);
    // Connection faults ('error') are the cache facade's to forward; the tests look at results.
    store.on('error', () => {});
    await once(store, 'ready');
    const client = redis.client();
    return {
      store,
      openPeer: (peer) => opened(prefix, peer.report, { ...options, ...peer }),
      plant: (name, bytes, ttlMs) => client.set(`${prefix}:${name}`, bytes, 'PX', String(ttlMs)),
      holds: async (name) => holdsLocally(store, name) || (await client.exists(`${prefix}:${name}`)) === 1,
      indexSize: async (suffix) => {
        const index = `${prefix}:${suffix}`;
        return (await client.exists(index)) === 1 ? client.zcard(index) : null;
      },
      announce: (payload) => client.publish(`${prefix}:inval`, payload),
    };
  }

  return {
    shared: true,
    async setup() { redis = await startRedis(tls ? { tls: { dir: certDir(), authClients: 'yes' } } : {}); },
    async teardown() { await redis.close(); },
    open: ({ report, prefix = `s${++seq}`, ...options }) => opened(prefix, report, options),
    redis: () => redis,
  };
}

module.exports = { redisBacking };
