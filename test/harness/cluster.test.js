'use strict';

// The Redis Cluster fixture (test/helpers/cluster.js) with ioredis alone: one 3-master +
// 3-replica cluster for the file, taken through a reshard with keys, a master kill and the killed
// node's return; then a TLS cluster. Timings are printed for the record (issue #12's plan, §5).
const fs = require('fs');
const { performance } = require('perf_hooks');
const { startCluster, SLOTS } = require('../helpers/cluster');
const { rawCheck } = require('../helpers/load');
const { certDir } = require('../helpers/tls-certs');
const { waitFor } = require('../helpers/wait');

const KEYS = Array.from({ length: 1000 }, (_, i) => `harness:${i}`);
const fileStarted = performance.now();
let cluster;

beforeAll(async () => {
  cluster = await startCluster({ masters: 3, replicas: 1, nodeTimeout: 1000 });
  console.log(`cluster of 6 healthy ${cluster.startedMs.toFixed(0)} ms after the start`);
});
afterAll(() => {
  console.log(`cluster harness file: ${(performance.now() - fileStarted).toFixed(0)} ms`);
});

/** Every key read back through a fresh ioredis Cluster (it learns the slots anew). */
async function readAll() {
  const client = cluster.client({});
  try {
    return await Promise.all(KEYS.map((k) => client.get(k)));
  } finally {
    client.disconnect();
  }
}

describe('startCluster', () => {
  it('comes up with 3 masters covering all 16384 slots, each with one running replica', async () => {
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    expect(masters.reduce((sum, m) => sum + m.slotCount, 0)).toBe(SLOTS);
    expect(masters[0].slots[0][0]).toBe(0);
    for (const master of masters) {
      const replicas = await cluster.replicasOf(master);
      expect(replicas.map((r) => r.running)).toEqual([true]);
      expect(replicas[0].id).not.toBe(master.id);
    }
    expect(cluster.nodes()).toHaveLength(6);
    expect(new Set(cluster.nodes().map((n) => n.id)).size).toBe(6);
  });

  it('plants keys through client() that rawCheck finds on their master and its replica', async () => {
    const client = cluster.client();
    await Promise.all(KEYS.map((k) => client.set(k, `v:${k}`)));
    // Two copies of every key: one on its master, one on that master's replica (READONLY).
    const check = await waitFor(async () => {
      const result = await rawCheck(cluster.nodes(), KEYS);
      return result.found.length === 2 * KEYS.length && result;
    }, { what: 'every key on 2 nodes' });
    expect(check.errors).toEqual([]);
    const roles = check.found.reduce((acc, f) => ({ ...acc, [f.role]: (acc[f.role] || 0) + 1 }), {});
    expect(roles).toEqual({ master: KEYS.length, slave: KEYS.length });
  });
});

describe('reshard', () => {
  it('moves 2000 slots with their keys, and ioredis Cluster still reads every key', async () => {
    const [from, to] = await cluster.masters();
    const held = async (node) => (await cluster.nodeClient(node)).dbsize();
    const [fromBefore, toBefore] = [await held(from.node), await held(to.node)];
    const { ms } = await cluster.reshard(from.id, to.id, 2000);
    console.log(`reshard of 2000 slots with ${KEYS.length} keys in the cluster: ${ms.toFixed(0)} ms to healthy`);
    const after = await cluster.masters();
    const slotsOf = (id) => after.find((m) => m.id === id).slotCount;
    expect(slotsOf(from.id)).toBe(from.slotCount - 2000);
    expect(slotsOf(to.id)).toBe(to.slotCount + 2000);
    const moved = fromBefore - await held(from.node);
    expect(moved).toBeGreaterThan(50);
    expect(await held(to.node)).toBe(toBefore + moved);
    expect(await readAll()).toEqual(KEYS.map((k) => `v:${k}`));
    // The shared client followed the MOVED replies too.
    expect(await cluster.client().get(KEYS[0])).toBe(`v:${KEYS[0]}`);
  });
});

describe('killMaster and restart', () => {
  let outcome;

  it('kill master 0: one of its replicas is promoted and the cluster is healthy again', async () => {
    const [target] = await cluster.masters();
    const replicas = await cluster.replicasOf(target);
    // Every write has reached the replicas before the kill (no loss to blame on the fixture).
    for (const master of await cluster.masters()) expect(await (await cluster.nodeClient(master.node)).wait(1, 2000)).toBe(1);
    outcome = await cluster.killMaster(0);
    console.log(`killMaster: replica promoted ${outcome.promotedMs.toFixed(0)} ms after SIGKILL, healthy after ${outcome.healthyMs.toFixed(0)} ms`);
    expect(outcome.killed).toBe(target.node);
    expect(outcome.killed.running).toBe(false);
    expect(replicas).toContain(outcome.promoted);
    const masters = await cluster.masters();
    expect(masters.map((m) => m.id)).toContain(outcome.promoted.id);
    expect(masters.map((m) => m.id)).not.toContain(target.id);
    expect(masters.reduce((sum, m) => sum + m.slotCount, 0)).toBe(SLOTS);
    expect(outcome.promotedMs).toBeLessThan(10000);
    expect(await readAll()).toEqual(KEYS.map((k) => `v:${k}`));
  });

  it('restart brings the killed master back as a replica of the promoted node', async () => {
    // Now and then a node reports cluster_state:fail for many seconds after the rejoin under load.
    const { role, ms } = await cluster.restart(outcome.killed, { timeout: 45000 });
    console.log(`restart of the killed master: healthy with it ${ms.toFixed(0)} ms later`);
    expect(role).toBe('slave');
    expect(await cluster.replicasOf(outcome.promoted.id)).toEqual([outcome.killed]);
    expect(cluster.live()).toHaveLength(6);
  }, 60000);

  it('close() kills every node and removes the folder', async () => {
    const { dir } = cluster;
    const pids = cluster.nodes().map((n) => n.server.pid);
    expect(fs.existsSync(dir)).toBe(true);
    await cluster.close();
    expect(fs.existsSync(dir)).toBe(false);
    expect(cluster.nodes().every((n) => !n.running)).toBe(true);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});

describe('startCluster({ tls })', () => {
  it('comes up with TLS on every link and serves ioredis Cluster over TLS', async () => {
    const tlsCluster = await startCluster({ tls: { dir: certDir() } });
    try {
      console.log(`TLS cluster healthy ${tlsCluster.startedMs.toFixed(0)} ms after the start`);
      expect((await tlsCluster.masters()).reduce((sum, m) => sum + m.slotCount, 0)).toBe(SLOTS);
      const client = tlsCluster.client();
      await Promise.all(KEYS.slice(0, 100).map((k) => client.set(k, k)));
      expect(await Promise.all(KEYS.slice(0, 100).map((k) => client.get(k)))).toEqual(KEYS.slice(0, 100));
    } finally {
      await tlsCluster.close();
    }
  });
});
