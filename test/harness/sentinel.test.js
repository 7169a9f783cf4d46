'use strict';

// The Sentinel fixture (test/helpers/sentinel.js) with ioredis alone: one master + replica +
// 3 Sentinels for the file, taken through a forced failover, a master kill and the killed node's
// return. Timings are printed for the record (issue #12's plan, §5).
const fs = require('fs');
const { performance } = require('perf_hooks');
const Redis = require('ioredis');
const { startSentinels } = require('../helpers/sentinel');
const { closeAllServers } = require('../helpers/redis');
const { waitFor } = require('../helpers/wait');

const fileStarted = performance.now();
let setup;
const events = [];
let unsubscribe;

beforeAll(async () => {
  setup = await startSentinels({ replicas: 1, sentinels: 3, downAfterMs: 1000 });
  console.log(`sentinels ready ${setup.startedMs.toFixed(0)} ms after the start`);
  unsubscribe = await setup.subscribe((event) => events.push(event));
});
afterAll(() => {
  if (unsubscribe) unsubscribe();
  console.log(`sentinel harness file: ${(performance.now() - fileStarted).toFixed(0)} ms`);
});

/** An ioredis client that finds the master through the Sentinels (what a user's app does). */
function sentinelClient() {
  const client = new Redis({ sentinels: setup.sentinelAddrs(), name: setup.name, maxRetriesPerRequest: 1 });
  client.on('error', () => { /* results are what counts */ });
  return client;
}

describe('startSentinels', () => {
  it('starts a master and a linked replica that every Sentinel knows, and names the master', async () => {
    const master = await setup.master();
    expect(master.server).toBe(setup.nodes()[0]);
    expect((await master.server.client().role())[0]).toBe('master');
    const replica = setup.nodes()[1];
    const role = await replica.client().role();
    expect(role.slice(0, 4)).toEqual(['slave', '127.0.0.1', master.port, 'connected']);
    expect(setup.sentinelAddrs()).toHaveLength(3);
    for (const sentinel of setup.sentinelAddrs()) {
      const s = new Redis({ ...sentinel, maxRetriesPerRequest: 0 });
      try {
        expect(await s.call('SENTINEL', 'get-master-addr-by-name', 'mymaster')).toEqual(['127.0.0.1', String(master.port)]);
        expect(await s.call('SENTINEL', 'sentinels', 'mymaster')).toHaveLength(2);
        expect(await s.call('SENTINEL', 'replicas', 'mymaster')).toHaveLength(1);
      } finally {
        s.disconnect();
      }
    }
  });
});

describe('failover', () => {
  it('moves the master to the replica, every Sentinel agrees and +switch-master is published', async () => {
    const client = sentinelClient();
    try {
      await client.set('k', 'before');
      const replica = setup.nodes()[1];
      expect(await setup.nodes()[0].client().wait(1, 2000)).toBe(1);
      const result = await setup.failover();
      console.log(`SENTINEL FAILOVER: every Sentinel names the new master ${result.ms.toFixed(0)} ms later`);
      expect(result.to).toBe(replica.port);
      expect((await setup.master()).port).toBe(replica.port);
      expect((await replica.client().role())[0]).toBe('master');
      const switches = events.filter((e) => e.from.port === result.from && e.to.port === result.to);
      expect(switches.length).toBeGreaterThanOrEqual(1);
      expect(switches.every((e) => e.name === 'mymaster' && e.at >= result.startedAt)).toBe(true);
      // ioredis follows the switch and reads what was written before it.
      await waitFor(async () => (await client.get('k').catch(() => null)) === 'before', { what: 'a read after the switch' });
      const readyAt = await setup.waitReady();
      console.log(`  the old master is a linked replica ${(readyAt - result.doneAt).toFixed(0)} ms after that`);
      expect((await setup.nodes()[0].client().role())[0]).toBe('slave');
    } finally {
      client.disconnect();
    }
  });
});

describe('killMaster and restart', () => {
  let outcome;

  it('kill the master: +switch-master names the replica, with its timing', async () => {
    const before = events.length;
    const { port: from } = await setup.master();
    outcome = await setup.killMaster();
    console.log(`killMaster: +switch-master ${outcome.switchMs.toFixed(0)} ms after SIGKILL, every Sentinel agrees after ${outcome.agreedMs.toFixed(0)} ms`);
    expect(outcome.from).toBe(from);
    expect(outcome.to).not.toBe(from);
    expect(setup.byPort(from).running).toBe(false);
    expect((await setup.byPort(outcome.to).client().role())[0]).toBe('master');
    expect(outcome.switchMs).toBeGreaterThan(1000);
    expect(outcome.switchMs).toBeLessThan(10000);
    const seen = events.slice(before).filter((e) => e.from.port === from && e.to.port === outcome.to);
    expect(seen.length).toBeGreaterThanOrEqual(1);
  });

  it('restart brings the killed master back as a linked replica of the new one', async () => {
    const killed = setup.byPort(outcome.from);
    const { ms } = await setup.restart(killed);
    console.log(`restart of the killed master: a linked replica ${ms.toFixed(0)} ms later`);
    const role = await killed.client().role();
    expect(role.slice(0, 4)).toEqual(['slave', '127.0.0.1', outcome.to, 'connected']);
  });

  it('close() kills every node and removes the folder', async () => {
    const { dir } = setup;
    const pids = [...setup.nodes(), ...setup.sentinelNodes].map((n) => n.pid);
    expect(pids.every(Boolean)).toBe(true);
    await setup.close();
    expect(fs.existsSync(dir)).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('closeAllServers (the Jest cleanup after each file) closes a setup its test left open', async () => {
    const forgotten = await startSentinels({ replicas: 1, sentinels: 3 });
    const pids = [...forgotten.nodes(), ...forgotten.sentinelNodes].map((n) => n.pid);
    await closeAllServers();
    expect(fs.existsSync(forgotten.dir)).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});
