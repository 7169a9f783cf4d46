'use strict';

// The native RedisClusterClient (lib/binding.js) against a real 3-master + 3-replica cluster
// (test/helpers/cluster.js): routing, durable writes, a reshard, a killed master, close().
const crypto = require('crypto');
const { spawn } = require('child_process');
const path = require('path');
const { performance } = require('perf_hooks');
const { RedisClusterClient } = require('../../lib/binding');
const { RedisUnconfirmedError } = require('../../lib/errors');
const { recordingClusterClient, outcome } = require('../helpers/cluster-client');
const { startCluster, SLOTS } = require('../helpers/cluster');
const { freePort } = require('../helpers/redis');
const { waitFor } = require('../helpers/wait');

jest.setTimeout(60000);

let cluster;
const clients = new Set();

/** A recorded client of the cluster (test/helpers/cluster-client.js), closed after the tests. */
function makeClient(options = {}) {
  const client = recordingClusterClient(cluster, options);
  clients.add(client);
  return client;
}

/** Slot ranges of each master as the cluster itself says, keyed by port. */
async function clusterLayout() {
  const masters = await cluster.masters();
  return Object.fromEntries(masters.map((m) => [m.port, m.slots]));
}

/** The same from the client's `masters`. */
function clientLayout(client) {
  return Object.fromEntries(client.masters.map((m) => [Number(m.addr.split(':')[1]), m.slots]));
}

/** Runs `fn(i)` for i in [0, n) with at most `width` in flight. */
async function inBatches(n, width, fn) {
  const out = new Array(n);
  for (let start = 0; start < n; start += width) {
    const end = Math.min(n, start + width);
    const batch = [];
    for (let i = start; i < end; i++) batch.push(fn(i).then((r) => { out[i] = r; }));
    await Promise.all(batch);
  }
  return out;
}

const KEYS = Array.from({ length: 10000 }, (_, i) => `cc:key:${i}`);
const valueOf = (i) => `value-${i}-${'x'.repeat(i % 50)}`;

beforeAll(async () => {
  cluster = await startCluster({ masters: 3, replicas: 1, nodeTimeout: 1000 });
});

afterAll(async () => {
  await Promise.all([...clients].map((c) => c.close()));
});

describe('RedisClusterClient', () => {
  let client;

  beforeAll(async () => {
    client = makeClient();
    await client.ready();
  });

  describe('when connected to a healthy cluster', () => {
    it('reports the masters, their slot ranges and their online replicas', async () => {
      expect(client.status).toBe('ready');
      expect(client.topologyEpoch).toBeGreaterThanOrEqual(1);
      expect(clientLayout(client)).toEqual(await clusterLayout());
      expect(client.masters).toHaveLength(3);
      // Nothing written yet: Redis 7.0's CLUSTER SHARDS calls a replica 'loading' while its
      // replication offset is 0, until its master's first write (or its first replica ping,
      // every 10 s). They count all the same: the fixture saw every replica's link up.
      const dbsizes = await Promise.all(client.masters.map((m) => client.commandOnNode(m.addr, ['DBSIZE'])));
      expect(dbsizes).toEqual([0, 0, 0]);
      await client.refresh();
      const shards = await client.commandOnNode(client.masters[0].addr, ['CLUSTER', 'SHARDS']);
      const health = shards.flatMap((sh) => sh[3].map((n) => n.map(String)).map((f) => f[f.indexOf('health') + 1]));
      expect(client.masters.map((m) => m.replicas)).toEqual([1, 1, 1]);
      // So the first durable write is confirmed by WAIT 1, not sent without a WAIT.
      const first = 'cc:durable:first';
      const owner = client.masters.find((m) => m.slots.some(([a, b]) => client.keySlot(first) >= a && client.keySlot(first) <= b));
      expect(await client.commandDurable(['SET', first, '1'], 2000)).toBe('OK');
      const stats = (await client.commandOnNode(owner.addr, ['INFO', 'commandstats'])).toString();
      expect(stats).toMatch(/^cmdstat_wait:calls=1,/m);
      console.log(`fresh cluster: node health in CLUSTER SHARDS before the first write: ${health.join(', ')}`);
      const masters = client.masters;
      expect(await client.refresh()).toBe(client.topologyEpoch);
      expect(masters.map((m) => m.replicas)).toEqual([1, 1, 1]);
      expect(masters.every((m) => m.ready)).toBe(true);
      const covered = masters.reduce((sum, m) => sum + m.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0);
      expect(covered).toBe(SLOTS);
    });

    it('computes CLUSTER KEYSLOT for 1000 random keys, with and without hash tags', async () => {
      const redis = await cluster.nodeClient(cluster.live()[0]);
      const keys = [];
      for (let i = 0; i < 1000; i++) {
        const bytes = crypto.randomBytes(1 + (i % 40));
        if (i % 4 === 0) keys.push(bytes); // binary, braces only by chance
        else if (i % 4 === 1) keys.push(`user:{${bytes.toString('hex').slice(0, 1 + (i % 9))}}:${i}`);
        else if (i % 4 === 2) keys.push(Buffer.concat([bytes.subarray(0, 3), Buffer.from('{'), bytes, Buffer.from('}x')]));
        else keys.push(`{}${i}{a}`); // an empty first tag: the whole key is hashed
      }
      const expected = await Promise.all(keys.map((k) => redis.cluster('KEYSLOT', k)));
      expect(keys.map((k) => client.keySlot(k))).toEqual(expected);
      expect(keys.map((k) => RedisClusterClient.keySlot(k))).toEqual(expected);
      expect(client.keySlot('foo')).toBe(12182);
      expect(() => client.keySlot(42)).toThrow(/expects a string or a Buffer/);
    });

    it('routes 10,000 SETs and GETs to the right masters with no error and no redirect', async () => {
      const epoch = client.topologyEpoch;
      const sets = await inBatches(KEYS.length, 1000, (i) => outcome(client.command(['SET', KEYS[i], valueOf(i)])));
      expect(sets.filter((r) => !r.ok)).toEqual([]);
      const gets = await inBatches(KEYS.length, 1000, (i) => outcome(client.command(['GET', KEYS[i]])));
      expect(gets.filter((r) => !r.ok)).toEqual([]);
      expect(gets.every((r, i) => r.value.toString() === valueOf(i))).toBe(true);
      // Each key on its slot's master only: the masters hold exactly the 10,000 keys.
      const sizes = await Promise.all(client.masters.map((m) => client.commandOnNode(m.addr, ['DBSIZE'])));
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(KEYS.length + 1); // + cc:durable:first
      expect(sizes.every((n) => n > 3000)).toBe(true);
      // No MOVED was needed: our slots agreed with Redis's.
      expect(client.topologyEpoch).toBe(epoch);
    });

    it('routes by an explicit slot, follows MOVED for a wrong one, and sends "host:port" routes as is', async () => {
      const key = KEYS[7];
      const slot = client.keySlot(key);
      expect((await client.command(['GET', key], undefined, false, slot)).toString()).toBe(valueOf(7));
      const wrong = (slot + 8192) % SLOTS;
      expect((await client.command(['GET', key], undefined, false, wrong)).toString()).toBe(valueOf(7));
      const owner = client.masters.find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
      const other = client.masters.find((m) => m !== owner);
      expect((await client.command(['GET', key], undefined, false, owner.addr)).toString()).toBe(valueOf(7));
      await expect(client.command(['GET', key], undefined, false, other.addr)).rejects.toMatchObject({
        code: 'ERR_RESPCACHE_REDIS_REPLY', message: expect.stringMatching(/^MOVED /),
      });
      await expect(client.commandOnNode(other.addr, ['GET', key])).rejects.toMatchObject({
        code: 'ERR_RESPCACHE_REDIS_REPLY', message: expect.stringMatching(/^MOVED /),
      });
      // A keyless command goes where its route says: CLUSTER MYID names the node that answered.
      for (const m of await cluster.masters()) {
        const [first, last] = m.slots[m.slots.length - 1];
        for (const slot of [first, last]) {
          expect(await client.command(['CLUSTER', 'MYID'], undefined, false, slot)).toEqual(Buffer.from(m.id));
        }
        expect(await client.command(['CLUSTER', 'MYID'], undefined, false, `127.0.0.1:${m.port}`)).toEqual(Buffer.from(m.id));
        expect(await client.commandOnNode(`127.0.0.1:${m.port}`, ['CLUSTER', 'MYID'])).toEqual(Buffer.from(m.id));
      }
      expect(() => client.command(['GET', key], undefined, false, 16384)).toThrow(/integer 0\.\.16383/);
      expect(() => client.command(['GET', key], undefined, false, 1.5)).toThrow(/integer 0\.\.16383/);
      expect(() => client.command(['GET', key], undefined, false, {})).toThrow(/slot number or a "host:port"/);
      expect(() => client.command(['SUBSCRIBE', 'x'])).toThrow(/SUBSCRIBE is not supported/);
      expect(() => client.command(['READONLY'])).toThrow(/READONLY is not supported/);
      expect(() => client.command([])).toThrow(/command name/);
      expect(() => client.command(['GET', {}])).toThrow(/argument 1/);
      expect(() => client.command(['GET', 'x'], 0)).toThrow(/timeoutMs/);
      expect(() => client.commandOnNode('', ['PING'])).toThrow(/host:port/);
      await expect(client.commandOnNode('nowhere', ['PING'])).rejects.toMatchObject({
        code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE',
      });
    });

    it('routes EVAL by its first key and keyless commands to any master', async () => {
      const key = KEYS[11];
      expect((await client.command(['EVAL', 'return redis.call("GET", KEYS[1])', 1, key])).toString())
        .toBe(valueOf(11));
      expect(await client.command(['PING'])).toBe('PONG');
      expect(await client.command(['EVAL', 'return 5', 0])).toBe(5);
      await expect(client.command(['NOSUCHCOMMAND', 'x'])).rejects.toMatchObject({
        code: 'ERR_RESPCACHE_REDIS_REPLY', message: expect.stringContaining('unknown command'),
      });
    });

    it('answers commandDurable once the replica confirmed it (WAIT 1)', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
        client.commandDurable(['SET', `cc:durable:${i}`, `d${i}`], 2000)));
      expect(results).toEqual(Array(50).fill('OK'));
      // Confirmed means the replica already holds it: read there at once (READONLY).
      const key = 'cc:durable:3';
      const slot = client.keySlot(key);
      const masters = await cluster.masters();
      const master = masters.find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
      const [replica] = await cluster.replicasOf(master);
      const onReplica = await cluster.nodeClient(replica, { readonly: true });
      expect(await onReplica.get(key)).toBe('d3');
      expect(await client.commandDurable(['GET', key], undefined, slot)).toEqual(Buffer.from('d3'));
      expect(() => client.commandDurable(['GET', key], undefined, 'x:1')).toThrow(/route must be a slot number/);
    });

    it('rejects commandDurable with ERR_RESPCACHE_REDIS_UNCONFIRMED while the replica is stopped', async () => {
      const key = 'cc:durable:unconfirmed';
      const slot = client.keySlot(key);
      const masters = await cluster.masters();
      const master = masters.find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
      const [replica] = await cluster.replicasOf(master);
      // A stopped replica acknowledges nothing; 300 ms is well inside the node timeout (1000 ms),
      // so the cluster sees no failure.
      process.kill(replica.server.pid, 'SIGSTOP');
      let result;
      try {
        result = await client.commandDurable(['SET', key, 'u'], 300).then(() => null, (err) => err);
      } finally {
        process.kill(replica.server.pid, 'SIGCONT');
      }
      // Either WAIT answered 0 in time, or (Redis checks blocked clients' timeouts at its hz, up
      // to 100 ms late) its answer had not come by the command's deadline.
      expect(result).toBeInstanceOf(RedisUnconfirmedError);
      expect(result).toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNCONFIRMED',
        message: expect.stringMatching(/^WAIT: 0 of 1 replicas|^WAIT failed: no answer within 300 ms/) });
      // The master did run it, and its connection is not stalled by a late WAIT answer: the very
      // next GET is served (behind that answer, if it is still to come).
      expect(await client.command(['GET', key], 1000)).toEqual(Buffer.from('u'));
    });
  });

  describe('refresh()', () => {
    it('resolves only after a refresh that started after the call', async () => {
      const c = makeClient({ slotsRefreshInterval: 86400000 });
      await c.ready();
      await c.refresh();
      const shardsCalls = async () => {
        let calls = 0;
        for (const n of cluster.live()) {
          const stats = await (await cluster.nodeClient(n)).info('commandstats');
          const m = /^cmdstat_cluster\|shards:calls=(\d+),/m.exec(stats);
          calls += m ? Number(m[1]) : 0;
        }
        return calls;
      };
      const before = await shardsCalls();
      // Every node holds its clients' commands for 400 ms: the next CLUSTER SHARDS stays out.
      await Promise.all(cluster.live().map(async (n) => (await cluster.nodeClient(n)).client('PAUSE', '400', 'ALL')));
      const first = c.refresh();
      await new Promise((resolve) => setTimeout(resolve, 150));
      // The first refresh is under way (started within 100 ms), so it may have read the map
      // before whatever this caller wants to see: this call waits for the next one.
      let secondDone = false;
      const second = c.refresh().then((epoch) => { secondDone = true; return epoch; });
      await first;
      await new Promise((resolve) => setImmediate(resolve));
      expect(secondDone).toBe(false);
      await second;
      expect(await shardsCalls() - before).toBe(2);
    });
  });

  describe('when slots move (redis-cli --cluster reshard)', () => {
    it('follows the reshard with no failed command, during or after it', async () => {
      const epoch = client.topologyEpoch;
      const masters = await cluster.masters();
      let stop = false;
      const during = [];
      const rounds = [];
      // Reads and writes of all keys while the slots (and their keys) move.
      const loop = (async () => {
        for (let round = 0; !stop; round++) {
          const started = performance.now();
          const batch = [];
          for (let i = round % 10; i < KEYS.length && batch.length < 200; i += 50) {
            batch.push(outcome(client.command(['GET', KEYS[i]])).then((r) => ({ ...r, i })));
          }
          batch.push(outcome(client.command(['SET', `cc:during:${round}`, 'x'])).then((r) => ({ ...r, i: -1 })));
          during.push(...await Promise.all(batch));
          rounds.push({ started, ended: performance.now() });
        }
      })();
      let reshardStarted;
      let reshardEnded;
      try {
        reshardStarted = performance.now();
        await cluster.reshard(masters[0].id, masters[1].id, 2000);
        reshardEnded = performance.now();
      } finally {
        stop = true;
        await loop;
      }
      // Commands ran while the slots moved (not a count, which depends on the machine's speed:
      // rounds that began after the reshard did and were answered before it was over).
      const inside = rounds.filter((r) => r.started >= reshardStarted && r.ended <= reshardEnded);
      expect(inside.length).toBeGreaterThan(0);
      expect(during.filter((r) => !r.ok)).toEqual([]);
      expect(during.filter((r) => r.i >= 0 && r.value.toString() !== valueOf(r.i))).toEqual([]);
      // After it: every key, first try.
      const gets = await inBatches(KEYS.length, 1000, (i) => outcome(client.command(['GET', KEYS[i]])));
      expect(gets.filter((r) => !r.ok)).toEqual([]);
      expect(gets.every((r, i) => r.value.toString() === valueOf(i))).toBe(true);
      expect(client.topologyEpoch).toBeGreaterThan(epoch);
      const topology = client.events.filter((e) => e.type === 'topology');
      expect(topology[topology.length - 1]).toMatchObject({ error: null, epoch: client.topologyEpoch });
      const layout = await clusterLayout();
      await waitFor(async () => {
        await client.refresh();
        return JSON.stringify(clientLayout(client)) === JSON.stringify(layout);
      }, { what: 'the client sees the new layout' });
      expect(client.status).toBe('ready');
    });
  });

  describe('when a master is killed', () => {
    it('fails its slots fast with a coded error, then serves them again after the promotion', async () => {
      const masters = await cluster.masters();
      const victim = masters[2];
      const inVictim = (i) => {
        const s = client.keySlot(KEYS[i]);
        return victim.slots.some(([a, b]) => s >= a && s <= b);
      };
      const probe = KEYS.findIndex((_, i) => inVictim(i));
      const elsewhere = KEYS.findIndex((_, i) => !inVictim(i));
      const samples = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const started = performance.now();
          const timed = (p) => outcome(p).then((r) => ({ ...r, ms: performance.now() - started }));
          const [r, other] = await Promise.all([
            timed(client.command(['GET', KEYS[probe]], 1000)),
            timed(client.command(['GET', KEYS[elsewhere]], 1000)),
          ]);
          samples.push({ ...r, other, started });
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      let kill;
      try {
        kill = await cluster.killMaster(2);
        // Served again: the client's refresh (every 250 ms while degraded) finds the promoted node.
        await waitFor(() => samples.length > 0 && samples[samples.length - 1].ok, { timeout: 10000, what: 'served again' });
      } finally {
        stop = true;
        await loop;
      }
      const inWindow = samples.filter((s) => s.started >= kill.killedAt && s.started + s.ms <= kill.notPromotedAt);
      const failed = samples.filter((s) => !s.ok && s.started >= kill.killedAt);
      // Fast and coded while no node serves the slots: UNAVAILABLE from the client itself, not
      // the TIMEOUT of the 1000 ms deadline (told apart by code, not by a clock a loaded machine
      // slows). Once the promoted node does, Redis may still answer CLUSTERDOWN for a moment
      // (retried within the deadline, then UNAVAILABLE with Redis's text). Nothing else.
      const clusterDown = (r) => r.code === 'ERR_RESPCACHE_REDIS_UNAVAILABLE' && /^CLUSTERDOWN/.test(r.message);
      const fast = failed.filter((s) => s.code === 'ERR_RESPCACHE_REDIS_UNAVAILABLE' && !clusterDown(s));
      expect(fast.length).toBeGreaterThan(0);
      expect(failed.filter((s) => !fast.includes(s) && !clusterDown(s))).toEqual([]);
      expect(inWindow.filter((s) => s.ok)).toEqual([]);
      // Other masters' keys: Redis itself answers CLUSTERDOWN while the cluster is in the fail
      // state (cluster-require-full-coverage); the client retries that within the deadline and
      // then reports UNAVAILABLE (the store bypasses Redis), not a reply error. Nothing else.
      const otherFailed = samples.filter((s) => !s.other.ok);
      expect(otherFailed.filter((s) => !clusterDown(s.other))).toEqual([]);
      const last = samples[samples.length - 1];
      expect(last.value.toString()).toBe(valueOf(probe));
      console.log(`killed master: ${fast.length} fast failures (max ${Math.max(...fast.map((s) => s.ms)).toFixed(1)} ms), `
        + `${failed.length - fast.length} CLUSTERDOWN, `
        + `promoted ${kill.promotedMs.toFixed(0)} ms after the kill, served again `
        + `${(last.started - kill.killedAt).toFixed(0)} ms after it; other masters' keys: ${otherFailed.length} CLUSTERDOWN`);
      // Then every key is served, and the client says so.
      const gets = await inBatches(KEYS.length, 1000, (i) => outcome(client.command(['GET', KEYS[i]])));
      expect(gets.filter((r) => !r.ok)).toEqual([]);
      await waitFor(() => client.status === 'ready', { what: 'ready again' });
      const types = client.events.filter((e) => e.at >= kill.killedAt).map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(['error', 'reconnecting', 'topology', 'ready']));
      const error = client.events.find((e) => e.type === 'error' && e.at >= kill.killedAt).error;
      expect(error.code).toBe('ERR_RESPCACHE_REDIS_UNAVAILABLE');
      expect(client.masters.map((m) => m.addr)).toContain(kill.promoted.addr);
      expect(client.masters.map((m) => m.addr)).not.toContain(kill.killed.addr);
    });
  });

  describe('close()', () => {
    it('settles every command in flight exactly once, then refuses new ones', async () => {
      const c = makeClient();
      await c.ready();
      const settled = new Array(3000).fill(0);
      const results = new Array(3000);
      const promises = [];
      for (let i = 0; i < 3000; i++) {
        const p = i % 3 === 2 ? c.commandDurable(['SET', `cc:close:${i}`, 'v'], 2000)
          : c.command(['GET', KEYS[i]]);
        promises.push(p.then((value) => { settled[i]++; results[i] = { ok: true, value }; },
          (err) => { settled[i]++; results[i] = { ok: false, code: err.code }; }));
      }
      const refreshed = outcome(c.refresh());
      const closed = c.close();
      expect(c.status).toBe('closed');
      await closed;
      await Promise.all(promises);
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled.filter((n) => n !== 1)).toEqual([]);
      // Written before close(): answered (or refused as closed, never lost or failed otherwise).
      const bad = results.filter((r) => !r.ok && r.code !== 'ERR_RESPCACHE_REDIS_CLOSED');
      expect(bad).toEqual([]);
      expect(results.filter((r, i) => r.ok && i % 3 !== 2 && r.value.toString() !== valueOf(i))).toEqual([]);
      expect(['ERR_RESPCACHE_REDIS_CLOSED', undefined]).toContain((await refreshed).code);
      expect(c.events.filter((e) => e.type === 'end')).toHaveLength(1);
      await expect(c.command(['PING'])).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_CLOSED' });
      await expect(c.refresh()).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_CLOSED' });
      expect(c.masters).toEqual([]);
      await c.close();
    });

    it('lets commands issued before the first topology wait for it', async () => {
      const c = makeClient();
      const early = c.command(['GET', KEYS[5]]);
      expect(c.status).toBe('connecting');
      expect((await early).toString()).toBe(valueOf(5));
      await c.close();
    });

    it('rejects commands still waiting for the first topology with ERR_RESPCACHE_REDIS_CLOSED, once each', async () => {
      const c = makeClient();
      const settled = new Array(100).fill(0);
      const codes = [];
      const promises = Array.from({ length: 100 }, (_, i) => (i % 2 ? c.commandDurable(['SET', `cc:early:${i}`, 'v'])
        : c.command(['GET', KEYS[i]])).then(() => { settled[i]++; codes.push('ok'); },
        (err) => { settled[i]++; codes.push(err.code); }));
      await c.close();
      await Promise.all(promises);
      expect(settled.filter((n) => n !== 1)).toEqual([]);
      expect(new Set(codes)).toEqual(new Set(['ERR_RESPCACHE_REDIS_CLOSED']));
    });
  });

  describe('when no seed answers', () => {
    it('emits a coded error and times commands out within their timeout', async () => {
      const port = await freePort();
      const c = makeClient({ nodes: [{ host: '127.0.0.1', port }], connectTimeout: 200 });
      const started = performance.now();
      const result = await outcome(c.command(['GET', 'x'], 300));
      const ms = performance.now() - started;
      expect(result).toMatchObject({ ok: false, code: 'ERR_RESPCACHE_REDIS_TIMEOUT' });
      expect(ms).toBeGreaterThanOrEqual(290);
      // Its own deadline ended it (the code says so); the bound only catches a wait of another
      // order (retries), with room for a loaded machine.
      expect(ms).toBeLessThan(5000);
      await waitFor(() => c.events.some((e) => e.type === 'error'), { what: 'an error event' });
      expect(c.events.find((e) => e.type === 'error').error.code).toBe('ERR_RESPCACHE_REDIS_UNAVAILABLE');
      expect(c.status).toBe('connecting');
      await expect(c.refresh()).rejects.toMatchObject({
        code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE', message: expect.stringContaining(`127.0.0.1:${port}`),
      });
      await c.close();
    });
  });

  describe('options', () => {
    it('names the option that is wrong', () => {
      const make = (o) => () => new RedisClusterClient(o);
      expect(make(undefined)).toThrow(/expects an options object/);
      expect(make({ nodes: [] })).toThrow(/"nodes" option/);
      expect(make({ nodes: [{ host: '127.0.0.1', port: 0 }] })).toThrow(/nodes\[0\]\.port/);
      expect(make({ nodes: [{ host: 1, port: 7000 }] })).toThrow(/nodes\[0\]\.host/);
      expect(make({ nodes: [{ port: 7000 }], commandTimeout: 0 })).toThrow(/commandTimeout/);
      expect(make({ nodes: [{ port: 7000 }], maxRedirections: -1 })).toThrow(/maxRedirections/);
      expect(make({ nodes: [{ port: 7000 }], tls: {} })).toThrow(/tls/);
    });
  });
});

describe('RedisClusterClient lifecycle (child processes)', () => {
  const binding = path.join(__dirname, '..', '..', 'lib', 'binding.js');
  function runChild(source, timeoutMs = 15000) {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => { output += d; });
      child.stderr.on('data', (d) => { output += d; });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, output });
      });
    });
  }
  const prelude = () => `
    const { RedisClusterClient } = require(${JSON.stringify(binding)});
    const nodes = ${JSON.stringify(cluster.live().map((n) => ({ host: '127.0.0.1', port: n.port })))};
    const ready = (c) => new Promise((r) => { const t = setInterval(() => {
      if (c.status === 'ready') { clearInterval(t); r(); } }, 5); });
  `;

  it('exits on its own after close()', async () => {
    const r = await runChild(`${prelude()}
      const c = new RedisClusterClient({ nodes, onEvent() {} });
      ready(c).then(() => c.command(['PING'])).then((p) => { console.log(p); return c.close(); })
        .then(() => console.log('closed'));
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.output).toContain('PONG');
    expect(r.output).toContain('closed');
  });

  it('exits cleanly on process.exit() with commands in flight', async () => {
    const r = await runChild(`${prelude()}
      const c = new RedisClusterClient({ nodes, onEvent() {} });
      ready(c).then(() => {
        for (let i = 0; i < 300; i++) c.command(['GET', 'k' + i]);
        for (let i = 0; i < 30; i++) c.commandDurable(['SET', 'k' + i, 'v']);
        c.refresh();
        process.exit(0);
      });
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
  });

  it('survives a worker thread terminated with commands in flight', async () => {
    const r = await runChild(`
      const { Worker } = require('worker_threads');
      const w = new Worker(\`${prelude().replace(/`/g, '\\`')}
        const c = new RedisClusterClient({ nodes, onEvent() {} });
        ready(c).then(() => c.command(['PING'])).then((p) => {
          for (let i = 0; i < 300; i++) c.command(['GET', 'k' + i]);
          require('worker_threads').parentPort.postMessage(p);
        });
      \`, { eval: true });
      w.on('message', (m) => { console.log(m); w.terminate(); });
      w.on('exit', () => console.log('worker gone'));
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.output).toContain('PONG');
    expect(r.output).toContain('worker gone');
  });

  it('survives a worker thread that ends on its own while its client is closing', async () => {
    const r = await runChild(`
      const { Worker } = require('worker_threads');
      const w = new Worker(\`${prelude().replace(/`/g, '\\`')}
        const c = new RedisClusterClient({ nodes, onEvent() {} });
        ready(c).then(() => { c.command(['PING']); c.close(); });
      \`, { eval: true });
      w.on('exit', (code) => console.log('worker exit ' + code));
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.output).toContain('worker exit 0');
  });
});
