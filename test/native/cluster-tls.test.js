'use strict';

// The native RedisClusterClient with the `tls` option (the object lib/tls-options.js makes, as for
// RedisClient) against real TLS-only clusters (test/helpers/cluster.js with `tls`): routing,
// durable writes, verification failures, mutual TLS; and the `preload` option, whose scripts a
// master promoted by a failover has before its first EVALSHA.
const crypto = require('crypto');
const { performance } = require('perf_hooks');
const { RedisClusterClient } = require('../../lib/binding');
const { tlsOptions } = require('../../lib/tls-options');
const { recordingClusterClient, outcome } = require('../helpers/cluster-client');
const { startCluster } = require('../helpers/cluster');
const { certDir, pem } = require('../helpers/tls-certs');

jest.setTimeout(60000);

const clients = new Set();

/** A recorded client of `cluster` (test/helpers/cluster-client.js), closed after each test. */
function makeClient(cluster, options = {}) {
  const client = recordingClusterClient(cluster, { connectTimeout: 2000, ...options });
  clients.add(client);
  return client;
}

const SCRIPT = "return 'preloaded:' .. KEYS[1]";
const SHA = crypto.createHash('sha1').update(SCRIPT).digest('hex');

afterEach(async () => {
  await Promise.all([...clients].map((c) => c.close()));
  clients.clear();
});

describe('RedisClusterClient over TLS (server certificates only)', () => {
  let cluster;

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, replicas: 1, nodeTimeout: 1000, tls: { dir: certDir() } });
  });

  afterAll(async () => {
    await cluster.close();
  });

  it('reads the topology, reaches every master on its TLS port and routes 1000 keys', async () => {
    const client = makeClient(cluster, { tls: tlsOptions({ ca: pem('ca.crt') }) });
    await client.ready();
    const livePorts = new Set(cluster.live().map((n) => n.port));
    expect(client.masters).toHaveLength(3);
    for (const m of client.masters) {
      expect(m.ready).toBe(true);
      expect(livePorts.has(Number(m.addr.split(':')[1]))).toBe(true);
      expect(m.addr.startsWith('127.0.0.1:')).toBe(true); // announced by IP, verified by IP
    }
    const epoch = client.topologyEpoch;
    const keys = Array.from({ length: 1000 }, (_, i) => `tls:key:${i}`);
    const set = await Promise.all(keys.map((k, i) => outcome(client.command(['SET', k, `v${i}`]))));
    expect(set.filter((r) => !r.ok)).toEqual([]);
    const got = await Promise.all(keys.map((k) => client.command(['GET', k])));
    expect(got.map(String)).toEqual(keys.map((_, i) => `v${i}`));
    // Every key went straight to its master: no MOVED changed the map.
    expect(client.topologyEpoch).toBe(epoch);
    const sizes = await Promise.all(client.masters.map((m) => client.commandOnNode(m.addr, ['DBSIZE'])));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1000);
    for (const n of sizes) expect(n).toBeGreaterThan(250);
    // The same keys, seen by ioredis over its own TLS: the data is where the client put it.
    expect(String(await cluster.client().get('tls:key:999'))).toBe('v999');
  });

  it('confirms durable writes with WAIT over TLS, and reports UNCONFIRMED without a replica', async () => {
    const client = makeClient(cluster, { tls: tlsOptions({ ca: pem('ca.crt') }) });
    await client.ready();
    await client.refresh();
    expect(client.masters.map((m) => m.replicas)).toEqual([1, 1, 1]);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      outcome(client.commandDurable(['SET', `tls:durable:${i}`, String(i)], 2000))));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const key = 'tls:durable:stopped';
    const owner = client.masters.find((m) => m.slots.some(([a, b]) =>
      client.keySlot(key) >= a && client.keySlot(key) <= b));
    const ownerNode = cluster.live().find((n) => n.addr === owner.addr);
    const [replica] = await cluster.replicasOf(ownerNode.id);
    process.kill(replica.server.pid, 'SIGSTOP');
    try {
      const r = await outcome(client.commandDurable(['SET', key, '1'], 300));
      expect(r).toMatchObject({ ok: false, code: 'ERR_RESPCACHE_REDIS_UNCONFIRMED' });
    } finally {
      process.kill(replica.server.pid, 'SIGCONT');
    }
    expect(String(await client.command(['GET', key]))).toBe('1');
  });

  it('verifies the nodes against tls.servername when it is set', async () => {
    // The server certificate names localhost and 127.0.0.1: a servername overrides the IP.
    const good = makeClient(cluster, { tls: tlsOptions({ ca: pem('ca.crt'), servername: 'localhost' }) });
    await good.ready();
    expect(await good.command(['SET', 'tls:servername', 'x'])).toBe('OK');
    const wrong = makeClient(cluster, { tls: tlsOptions({ ca: pem('ca.crt'), servername: 'redis.example.com' }) });
    const error = await wrong.next('error');
    expect(error.code).toBe('ERR_RESPCACHE_TLS_NAME_MISMATCH');
    expect(wrong.status).toBe('connecting');
  });

  it('reports an unknown CA as ERR_RESPCACHE_TLS_UNKNOWN_CA, and commands reject', async () => {
    const client = makeClient(cluster, { tls: tlsOptions({ ca: pem('other-ca.crt') }), commandTimeout: 500 });
    const pending = outcome(client.command(['GET', 'tls:key:1']));
    const error = await client.next('error');
    expect(error.code).toBe('ERR_RESPCACHE_TLS_UNKNOWN_CA');
    expect(error.message).toMatch(/^could not read the cluster's topology from any node \(last: TLS to 127\.0\.0\.1:\d+: /);
    expect(client.status).toBe('connecting');
    const r = await pending;
    expect(r.ok).toBe(false);
    expect(r.code).toBe('ERR_RESPCACHE_REDIS_TIMEOUT');
    const refreshed = await outcome(client.refresh());
    expect(refreshed).toMatchObject({ ok: false, code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE' });
    expect(client.events.filter((e) => e.type === 'ready')).toEqual([]);
  });

  it('rejects a tls value of the wrong shape with a TypeError naming RedisClusterClient', () => {
    expect(() => new RedisClusterClient({ nodes: [{ host: '127.0.0.1', port: 1 }], tls: 'yes' }))
      .toThrow(expect.objectContaining({ name: 'TypeError', message: 'RedisClusterClient: the "tls" option must be an object' }));
    expect(() => new RedisClusterClient({ nodes: [{ host: '127.0.0.1', port: 1 }], tls: { ...tlsOptions({ ca: pem('ca.crt') }), ca: '' } }))
      .toThrow(expect.objectContaining({ name: 'TypeError', message: 'RedisClusterClient: tls.ca must not be empty' }));
    // A certificate without its key passes the shape check here and fails in OpenSSL.
    expect(() => new RedisClusterClient({ nodes: [{ host: '127.0.0.1', port: 1 }], tls: { ...tlsOptions({ ca: pem('ca.crt') }), cert: pem('client.crt') } }))
      .toThrow(expect.objectContaining({ code: 'ERR_RESPCACHE_TLS_BAD_OPTIONS' }));
  });

  describe('with preload', () => {
    it('rejects a preload option that is not an array of strings', () => {
      for (const preload of ['return 1', [1], {}, null]) {
        expect(() => new RedisClusterClient({ nodes: [{ host: '127.0.0.1', port: 1 }], preload }))
          .toThrow(expect.objectContaining({
            name: 'TypeError', message: 'RedisClusterClient: the "preload" option must be an array of script texts',
          }));
      }
    });

    it('has the scripts on every master, and on a promoted master at once after a failover', async () => {
      // Nothing else loads it: a NOSCRIPT below would mean the handshake did not.
      await Promise.all(cluster.live().map(async (n) => (await cluster.nodeClient(n)).script('FLUSH')));
      const client = makeClient(cluster, { tls: tlsOptions({ ca: pem('ca.crt') }), preload: [SCRIPT] });
      await client.ready();
      for (const m of client.masters) {
        const exists = await client.commandOnNode(m.addr, ['SCRIPT', 'EXISTS', SHA]);
        expect(exists).toEqual([1]);
      }
      // One key per master, by slot.
      const keyFor = (m) => {
        for (let i = 0; ; i++) {
          const k = `pl:${i}`;
          const s = client.keySlot(k);
          if (m.slots.some(([a, b]) => s >= a && s <= b)) return k;
        }
      };
      for (const m of client.masters) {
        expect(String(await client.command(['EVALSHA', SHA, '1', keyFor(m)]))).toBe(`preloaded:${keyFor(m)}`);
      }
      const victimIndex = 1;
      const victim = (await cluster.masters())[victimIndex];
      const victimMaster = client.masters.find((m) => m.addr === victim.node.addr);
      const key = keyFor(victimMaster);
      // The replica that will be promoted has no script of its own (SCRIPT FLUSH above; a
      // replica does not get SCRIPT LOADs replicated in Redis 7).
      const [replica] = await cluster.replicasOf(victim.id);
      expect(await (await cluster.nodeClient(replica)).script('EXISTS', SHA)).toEqual([0]);
      const killed = await cluster.killMaster(victimIndex);
      expect(killed.promoted.id).toBe(replica.id);
      // First EVALSHA on the promoted master, as soon as the client serves the slot again.
      let r;
      const deadline = performance.now() + 10000;
      do {
        r = await outcome(client.command(['EVALSHA', SHA, '1', key], 1000));
        if (!r.ok && r.code !== 'ERR_RESPCACHE_REDIS_UNAVAILABLE' && r.code !== 'ERR_RESPCACHE_REDIS_TIMEOUT') break;
        if (!r.ok) await new Promise((resolve) => setTimeout(resolve, 20));
      } while (!r.ok && performance.now() < deadline);
      expect(r).toEqual({ ok: true, value: Buffer.from(`preloaded:${key}`) });
      expect(client.masters.map((m) => m.addr)).toContain(replica.addr);
      // No NOSCRIPT round trip: the promoted node never failed an EVALSHA.
      const stats = await (await cluster.nodeClient(replica)).info('errorstats');
      expect(stats).not.toMatch(/NOSCRIPT/);
    });
  });
});

describe('RedisClusterClient over mutual TLS (client certificates required)', () => {
  let cluster;

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, replicas: 1, nodeTimeout: 1000, tls: { dir: certDir(), authClients: 'yes' } });
  });

  afterAll(async () => {
    await cluster.close();
  });

  it('serves with the client certificate on every connection', async () => {
    const client = makeClient(cluster, {
      tls: tlsOptions({ ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') }),
    });
    await client.ready();
    expect(client.masters).toHaveLength(3);
    const keys = Array.from({ length: 300 }, (_, i) => `mtls:${i}`);
    await Promise.all(keys.map((k) => client.command(['SET', k, k])));
    expect((await Promise.all(keys.map((k) => client.command(['GET', k])))).map(String)).toEqual(keys);
    expect(await client.commandDurable(['SET', 'mtls:durable', '1'], 2000)).toBe('OK');
  });

  it('reports ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED without one, and serves nothing', async () => {
    const client = makeClient(cluster, { tls: tlsOptions({ ca: pem('ca.crt') }), commandTimeout: 500 });
    const pending = outcome(client.command(['GET', 'mtls:1']));
    const error = await client.next('error');
    expect(error.code).toBe('ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED');
    expect((await pending).ok).toBe(false);
    expect(client.status).toBe('connecting');
  });
});
