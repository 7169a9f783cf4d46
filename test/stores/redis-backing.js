'use strict';

// The part of the store-suite adapters (test/stores/store-suite.js) that stores kept in Redis
// share: a real redis-server for the file (test/helpers/redis.js), one key prefix per store opened,
// raw planting and inspection through a separate client, announcements published as another
// process would. Names are the store's own (lib/stores/redis-keys.js), in B buckets (1 unless
// `buckets` says otherwise: the test-only `_buckets` store option). With `cluster`, a real 3+3
// Redis Cluster (test/helpers/cluster.js) and the store on it, 64 buckets.
const { startRedis } = require('../helpers/redis');
const { startCluster } = require('../helpers/cluster');
const { startSentinels } = require('../helpers/sentinel');
const { certDir, pem } = require('../helpers/tls-certs');
const { once } = require('../helpers/wait');
const { RedisStore } = require('../../lib/stores/redis');
const { layout, BUCKETS_CLUSTER } = require('../../lib/stores/redis-keys');
const { tlsOptions } = require('../../lib/tls-options');

/**
 * @param {(shared: RedisStore, options: object) => object} [wrap] builds the store under test
 *   around a RedisStore (the near cache); the RedisStore itself when omitted
 * @param {(store: object, name: string) => boolean} [holdsLocally] whether the store's own
 *   in-process tier holds `name`
 * @param {boolean} [tls] a TLS-only redis-server that requires client certificates; the store
 *   connects with the test CA and the client certificate
 * @param {number} [buckets] the store's bucket count (the test-only `_buckets` option); 1: as
 *   every store on one Redis has
 * @param {boolean} [cluster] the store on a Redis Cluster of 3 masters and 3 replicas
 * @param {boolean} [sentinel] the store on a master and a replica watched by 3 Sentinels
 * @returns {object} the adapter's setup/teardown/open, `redis()` (the running server) and
 *   `names(prefix)` (the store's layout under that prefix)
 */
function redisBacking({ wrap = (shared) => shared, holdsLocally = () => false, tls = false, buckets = 1, cluster = false, sentinel = false } = {}) {
  let redis = null; // the redis-server, the Cluster, or the Sentinels
  let seq = 0;
  if (cluster) buckets = BUCKETS_CLUSTER;

  function make(prefix, report, options) {
    const template = cluster || sentinel;
    const endpoint = { host: template ? '' : '127.0.0.1', port: template ? 0 : redis.port, path: '', username: '', password: '', db: 0 };
    if (tls) {
      endpoint.tls = tlsOptions({ ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') }, 'tls');
    }
    let topology = {};
    if (cluster) {
      topology = { topology: 'cluster', cluster: { nodes: [{ host: '127.0.0.1', port: redis.nodes()[0].port }], slotsRefreshInterval: 5000, maxRedirections: 16 } };
    } else if (sentinel) {
      topology = { topology: 'sentinel', sentinel: { nodes: redis.sentinelAddrs(), name: redis.name, auth: { username: '', password: '' }, tls: endpoint.tls || null } };
    }
    const shared = new RedisStore({
      endpoint,
      ...topology,
      keyPrefix: prefix, connectTimeout: 2000, commandTimeout: 2000,
      ...(buckets === 1 || cluster ? {} : { _buckets: buckets }),
    }, report);
    return wrap(shared, options);
  }

  async function opened(prefix, report, options) {
    const store = make(prefix, report, options);
    // Connection faults ('error') are the cache facade's to forward; the tests look at results.
    store.on('error', () => {});
    await once(store, 'ready');
    // Sentinel: the master's own client (the fixture's master() asks the Sentinels).
    const client = sentinel ? (await redis.master()).server.client() : redis.client();
    const names = layout(prefix, buckets);
    return {
      store,
      openPeer: (peer) => opened(prefix, peer.report, { ...options, ...peer }),
      plant: (name, bytes, ttlMs) => client.set(names.nameOf(name), bytes, 'PX', String(ttlMs)),
      holds: async (name) => holdsLocally(store, name) || (await client.exists(names.nameOf(name))) === 1,
      // The members of every bucket's copy of the index.
      indexSize: async (suffix) => {
        let size = null;
        for (let b = 0; b < buckets; b++) {
          const index = names.index(b, suffix);
          if ((await client.exists(index)) === 1) size += await client.zcard(index);
        }
        return size;
      },
      announce: (payload) => client.publish(`${prefix}:inval`, payload),
    };
  }

  return {
    shared: true,
    async setup() {
      const serverTls = tls ? { tls: { dir: certDir(), authClients: 'yes' } } : {};
      if (cluster) redis = await startCluster(serverTls);
      else if (sentinel) redis = await startSentinels(tls ? { tls: { dir: certDir() } } : {});
      else redis = await startRedis(serverTls);
    },
    async teardown() { await redis.close(); },
    open: ({ report, prefix = `s${++seq}`, ...options }) => opened(prefix, report, options),
    redis: () => redis,
    names: (prefix) => layout(prefix, buckets),
    keysTogether: (n) => {
      const names = layout('any', buckets);
      const keys = [];
      for (let i = 0; keys.length < n; i++) if (names.bucketOf(`k${i}`) === names.bucketOf('k0')) keys.push(`k${i}`);
      return keys;
    },
  };
}

/**
 * For a describe block of store-only tests on one backing: registers its setup and teardown, and
 * closes every store opened by `open` after each test.
 * @returns {{ open(options?: object): Promise<object>, backing: object }} open: the backing's
 *   open with reports ignored (the tests look at results)
 */
function storesOn(backing) {
  const stores = [];
  beforeAll(() => backing.setup());
  afterAll(() => backing.teardown());
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  return {
    backing,
    async open(options = {}) {
      const handle = await backing.open({ report: () => {}, ...options });
      stores.push(handle.store);
      return handle;
    },
  };
}

module.exports = { redisBacking, storesOn };
