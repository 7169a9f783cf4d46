'use strict';

// SentinelClient (lib/stores/sentinel.js) against real Sentinels (test/helpers/sentinel.js):
// discovery, commands, WAIT, a forced failover and a killed master followed through
// +switch-master, the backstops of a client that missed the message, TLS, and teardown.
// Timings are printed for the record.
const { spawn } = require('child_process');
const crypto = require('crypto');
const path = require('path');
const { performance } = require('perf_hooks');
const { SentinelClient } = require('../../lib/stores/sentinel');
const discovery = require('../../lib/stores/sentinel-discovery');
const { RespcacheError, RedisUnavailableError, CacheClosedError } = require('../../lib/errors');
const { tlsOptions } = require('../../lib/tls-options');
const { startSentinels } = require('../helpers/sentinel');
const { freePort } = require('../helpers/redis');
const { certDir, pem } = require('../helpers/tls-certs');
const { waitFor } = require('../helpers/wait');

const fileStarted = performance.now();
afterAll(() => console.log(`sentinel-client file: ${(performance.now() - fileStarted).toFixed(0)} ms`));

const clients = new Set();
afterEach(async () => {
  await Promise.all([...clients].map((c) => c.close()));
  clients.clear();
});

/** A SentinelClient of `setup` whose events and onMaster calls are recorded with their times. */
function makeClient(setup, options = {}) {
  const events = [];
  const masters = [];
  const client = new SentinelClient({
    sentinels: setup.sentinelAddrs(), name: setup.name, connectTimeout: 1000, commandTimeout: 1000,
    ...options,
    onEvent(type, err) { events.push({ type, err, at: performance.now() }); },
    onMaster(addr) {
      masters.push({ ...addr, at: performance.now() });
      if (options.onMaster) options.onMaster(addr);
    },
  });
  clients.add(client);
  client.events = events;
  client.masters = masters;
  client.errors = () => events.filter((e) => e.type === 'error').map((e) => e.err);
  return client;
}

// lib/stores/sentinel.js: how long the data connection may be 'reconnecting' before the Sentinels
// are asked; lib/stores/sentinel-discovery.js: the back-off between rounds, doubling up to 1 s.
const RECONNECTING_CHECK_MS = 200;
const MAX_BACKOFF_MS = 1000;

/**
 * The discovery rounds `client` plans from now on, as { ms, status }: the delay each schedule()
 * gave (discovery's back-off calls it from inside its own module, where no spy sees it, so this
 * reaches into the client on purpose: every plan sets client._timerAt = now + delay).
 */
function plannedRounds(client) {
  const planned = [];
  let at = client._timerAt;
  Object.defineProperty(client, '_timerAt', {
    configurable: true,
    get: () => at,
    set: (value) => {
      at = value;
      if (value !== Infinity) planned.push({ ms: value - performance.now(), status: client.status });
    },
  });
  return planned;
}

/**
 * Makes discovery.schedule() do nothing for `client` when `drop(ms)` says so (the 'reconnecting'
 * check and the round after a replica's refusal go through it); returns the delays dropped and
 * restore().
 */
function dropSchedules(client, drop) {
  const original = discovery.schedule;
  const dropped = [];
  const spy = jest.spyOn(discovery, 'schedule').mockImplementation((c, ms) => {
    if (c === client && drop(ms)) dropped.push(ms);
    else original(c, ms);
  });
  return { dropped, restore: () => spy.mockRestore() };
}

/**
 * Runs `fault()` with the backstops of `client` off (no discovery round can start: neither the
 * 'reconnecting' check nor a replica's refusal asks the Sentinels), so that only +switch-master
 * can move it; resolves with fault()'s outcome, the client's second master (its onMaster entry)
 * and the delays dropped.
 */
async function movedBySwitchOnly(client, fault) {
  const backstops = dropSchedules(client, () => true);
  try {
    const outcome = await fault();
    await waitFor(() => client.masters.length === 2, { timeout: 10000, what: 'onMaster after the fault' });
    return { outcome, moved: client.masters[1], dropped: backstops.dropped };
  } finally {
    backstops.restore();
  }
}

/**
 * Resolves true if `promise` settles before a timer of `ms` started now fires, else false (once
 * it fires). Timers run in the order they are due, and what one timer's callback settles is seen
 * before the next one runs: a step settled by its own deadline timer (set before this one, due
 * earlier) is seen first however late a loaded machine runs both.
 */
function settlesWithin(promise, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settled = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}

/**
 * Runs `fn` with the Sentinels' down-after-milliseconds raised to a minute: a node the test stops
 * (SIGSTOP) for more than the setup's second is then neither taken for down nor failed over.
 */
async function withPatientSentinels(setup, fn) {
  const sentinels = setup.sentinelNodes.filter((s) => s.running);
  const master = await setup._on(sentinels[0], (c) => c.call('SENTINEL', 'MASTER', setup.name));
  const downAfter = master[master.indexOf('down-after-milliseconds') + 1];
  const set = (ms) => Promise.all(sentinels.map((s) => setup._on(s,
    (c) => c.call('SENTINEL', 'SET', setup.name, 'down-after-milliseconds', String(ms)))));
  await set(60000);
  try {
    return await fn();
  } finally {
    await set(downAfter);
  }
}

/** The `calls` of a command in the server's INFO commandstats (0 when it never ran). */
async function calls(server, command) {
  const info = await server.client().info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

/** How many pub/sub connections a Sentinel holds (the fixture's own are counted too). */
async function subscribersOn(setup, sentinel) {
  return setup._on(sentinel, async (c) => (await c.client('LIST')).split('\n').filter((l) => / sub=[1-9]\d* /.test(l)).length);
}

/** The first +switch-master of `events` that names `port` as the new master. */
function firstSwitchTo(events, port) {
  return events.filter((e) => e.to.port === port).sort((a, b) => a.at - b.at)[0];
}

describe('SentinelClient options', () => {
  const base = { sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'mymaster' };
  it.each([
    [{ ...base, sentinels: [] }, 'Expected the "sentinels" option to be a non-empty array of { host, port }'],
    [{ ...base, sentinels: [{ host: '127.0.0.1', port: 0 }] }, 'Expected "sentinels[0]" to be { host: string, port: 1..65535 }'],
    [{ ...base, name: '' }, 'Expected the "name" option to be a non-empty string'],
    [{ ...base, endpoint: { db: -1 } }, 'Expected "endpoint.db" to be an integer of at least 0'],
    [{ ...base, sentinelAuth: { password: 5 } }, 'Expected "sentinelAuth.password" to be a string'],
    [{ ...base, preload: ['return 1', 2] }, 'Expected the "preload" option to be an array of script texts'],
    [{ ...base, onMaster: 'x' }, 'Expected the "onMaster" option to be a function'],
    [{ ...base, commandTimeout: 0 }, 'Expected the "commandTimeout" option to be 1..86400000 ms'],
  ])('throws for %j', (options, message) => {
    expect(() => new SentinelClient(options)).toThrow(message);
  });

  it('reads frozen options and keeps no reference to the caller\'s list', async () => {
    const port = await freePort();
    const first = { host: '127.0.0.1', port };
    const sentinels = [first];
    const client = new SentinelClient(Object.freeze({ sentinels, name: 'mymaster', endpoint: Object.freeze({}), onEvent() {} }));
    clients.add(client);
    first.port = 1;
    sentinels.push({ host: '127.0.0.1', port: 2 });
    expect(client.sentinels).toEqual([{ host: '127.0.0.1', port }]);
  });
});

describe('SentinelClient on a master, a replica and three Sentinels', () => {
  let setup;

  beforeAll(async () => {
    setup = await startSentinels({ replicas: 1, sentinels: 3 });
  });
  afterAll(() => setup.close());

  it('asks the Sentinels for the master and serves commands there, those issued before included', async () => {
    const { port, server } = await setup.master();
    const client = makeClient(setup);
    expect(client.status).toBe('connecting');
    expect(client.master).toBeNull();
    expect(client.replicas).toBeNull();
    expect(await client.command(['SET', 'sentinel:k', 'v'])).toBe('OK');
    expect(client.status).toBe('ready');
    expect(client.master).toEqual({ host: '127.0.0.1', port });
    expect(client.replicas).toBe(1);
    expect(await server.client().get('sentinel:k')).toBe('v');
    expect(await client.command(['GET', 'sentinel:k'])).toEqual(Buffer.from('v'));
    expect(client.masters).toEqual([{ host: '127.0.0.1', port, at: expect.any(Number) }]);
    expect(client.events.map((e) => e.type)).toEqual(['ready']);
  });

  it('loads the preload scripts on the master before "ready"', async () => {
    const script = "return 'preloaded'";
    const sha = crypto.createHash('sha1').update(script).digest('hex');
    const { server } = await setup.master();
    expect(await server.client().script('EXISTS', sha)).toEqual([0]);
    const client = makeClient(setup, { preload: [script] });
    expect(await client.command(['EVALSHA', sha, '0'])).toEqual(Buffer.from('preloaded'));
  });

  it('reports an onMaster that throws as an "error" event and goes on', async () => {
    const thrown = new Error('onMaster failed');
    const client = makeClient(setup, { onMaster() { throw thrown; } });
    expect(await client.command(['PING'])).toBe('PONG');
    expect(client.errors()).toEqual([thrown]);
  });

  it('uses the second Sentinel when the first is down, and asks that one first from then on', async () => {
    const down = { host: '127.0.0.1', port: await freePort() };
    const [first, second] = setup.sentinelAddrs();
    const client = makeClient(setup, { sentinels: [down, first, second] });
    expect(await client.command(['PING'])).toBe('PONG');
    expect(client.master.port).toBe((await setup.master()).port);
    expect(client.sentinels.slice(0, 3)).toEqual([first, down, second]);
    expect(client.errors()).toEqual([]);
  });

  it('learns the Sentinels it was not given, and subscribes to +switch-master (and the replica events) on each', async () => {
    const all = setup.sentinelAddrs();
    const before = await Promise.all(setup.sentinelNodes.map((s) => subscribersOn(setup, s)));
    const client = makeClient(setup, { sentinels: [all[0]] });
    await client.command(['PING']);
    expect([...client.sentinels].sort((a, b) => a.port - b.port)).toEqual([...all].sort((a, b) => a.port - b.port));
    await waitFor(async () => {
      const now = await Promise.all(setup.sentinelNodes.map((s) => subscribersOn(setup, s)));
      return now.every((n, i) => n === before[i] + 1);
    }, { what: 'one subscriber of the client on each Sentinel' });
    await client.close();
    const after = await Promise.all(setup.sentinelNodes.map((s) => subscribersOn(setup, s)));
    expect(after).toEqual(before);
  });

  it('reports a name no Sentinel knows as UNAVAILABLE naming each one, retried with a growing back-off', async () => {
    const client = makeClient(setup, { name: 'nosuch' });
    const planned = plannedRounds(client);  // its first round is under way, the next not planned yet
    await waitFor(() => client.errors().length >= 4, { timeout: 10000, what: 'four failed rounds' });
    const [err] = client.errors();
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(err.code).toBe('ERR_RESPCACHE_REDIS_UNAVAILABLE');
    for (const s of setup.sentinelAddrs()) expect(err.message).toContain(`127.0.0.1:${s.port} (it does not know "nosuch")`);
    const at = client.events.filter((e) => e.type === 'error').map((e) => e.at);
    const gaps = at.slice(1, 4).map((t, i) => t - at[i]);
    console.log(`rounds with no answer: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms apart`);
    // The back-off each failed round planned (the time a round takes comes on top of it, so the
    // gaps measured only bound it from below).
    expect(planned.length).toBeGreaterThanOrEqual(3);
    planned.slice(0, 3).forEach(({ ms }, i) => {
      expect(ms).toBeLessThanOrEqual(100 * 2 ** i);
      expect(ms).toBeGreaterThan(100 * 2 ** i - 50);
    });
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(100 * 2 ** i - 5));
    expect(client.status).toBe('connecting');
    // Rejected at once between rounds; during one, when it fails (not at a timeout of its own).
    await expect(client.command(['PING'], 30000)).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE' });
    expect(client.masters).toEqual([]);
  });

  it('commandDurable pipelines WAIT 1 behind the command and resolves once the replica has it', async () => {
    const { server } = await setup.master();
    const replica = setup.nodes().find((n) => n !== server);
    const client = makeClient(setup);
    await client.command(['PING']);
    const waits = await calls(server, 'wait');
    expect(await client.commandDurable(['SET', 'sentinel:durable', 'yes'], 1000)).toBe('OK');
    expect(await calls(server, 'wait')).toBe(waits + 1);
    // WAIT counted the replica: it has applied the write.
    expect(await replica.client().get('sentinel:durable')).toBe('yes');
  });

  it('commandDurable issued before the first handshake still sends WAIT (with the count that handshake read)', async () => {
    const { server } = await setup.master();
    const waits = await calls(server, 'wait');
    const client = makeClient(setup);
    expect(await client.commandDurable(['SET', 'sentinel:early', '1'], 1000)).toBe('OK');
    expect(await calls(server, 'wait')).toBe(waits + 1);
  });

  it('commandDurable rejects UNCONFIRMED at its deadline when the replica does not acknowledge', async () => {
    const { server } = await setup.master();
    const replica = setup.nodes().find((n) => n !== server);
    const client = makeClient(setup);
    // The durable connection made (its handshake) before the timed step.
    expect(await client.commandDurable(['SET', 'sentinel:unconfirmed', '0'], 5000)).toBe('OK');
    expect(client.replicas).toBe(1);  // read at the handshake: stays 1 while the replica is frozen
    replica.freeze();
    try {
      const started = performance.now();
      const step = client.commandDurable(['SET', 'sentinel:unconfirmed', '1'], 300).then(() => null, (e) => e);
      // Not at the pipelined WAIT's own timeout, WAIT_LINK_GRACE_MS (1 s) past the deadline.
      const inTime = await settlesWithin(step, 300 + 500);
      const err = await step;
      const ms = performance.now() - started;
      expect(err).toBeInstanceOf(RespcacheError);
      // WAIT answered 0 in time, or (Redis checks blocked clients' timeouts at its hz, up to 100 ms
      // late) not by the step's deadline.
      expect(err).toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNCONFIRMED',
        message: expect.stringMatching(/^WAIT 1 (counted 0 replica\(s\) within \d+ ms|had not answered within \d+ ms|failed: )/) });
      expect(ms).toBeGreaterThanOrEqual(195);
      expect(inTime).toBe(true);
      // The master ran it.
      expect(await server.client().get('sentinel:unconfirmed')).toBe('1');
      expect(await client.command(['GET', 'sentinel:unconfirmed'])).toEqual(Buffer.from('1'));
    } finally {
      replica.thaw();
    }
    await setup.waitReady();
  });

  it('commandDurable settles at its deadline even when Redis answers WAIT late, and the connection goes on', async () => {
    const { server } = await setup.master();
    const replica = setup.nodes().find((n) => n !== server);
    const client = makeClient(setup);
    // The durable connection made (its handshake) before the timed steps.
    expect(await client.commandDurable(['SET', 'sentinel:short', '-'], 5000)).toBe('OK');
    const deadline = 500;  // WAIT is given 400 of it
    const late = [];
    const early = [];
    let stuck = null;
    await withPatientSentinels(setup, async () => {
      replica.freeze();
      try {
        // WAIT answers late for certain: once the master holds it (blocked_clients), the master
        // is stopped until the step has settled. An attempt whose WAIT timed out before that says
        // nothing of the deadline (Redis answered in time) and is made again.
        for (let i = 0; late.length < 2 && i < 10 && stuck === null; i++) {
          const value = String(i);
          const started = performance.now();
          let settledAt = null;
          const step = client.commandDurable(['SET', 'sentinel:short', value], deadline).then(() => null, (e) => e);
          step.then(() => { settledAt = performance.now(); });
          // Not at the pipelined WAIT's own timeout, WAIT_LINK_GRACE_MS (1 s) past the deadline.
          const inTime = settlesWithin(step, deadline + 500);
          await waitFor(async () => settledAt !== null
            || /^blocked_clients:[1-9]/m.test(await server.client().info('clients')), { interval: 5, what: 'WAIT held by the master' });
          const held = settledAt === null;
          let settledInTime;
          if (held) {
            // A later turn of the master's loop than the one that ran the SET: its reply is out.
            await server.client().ping();
            server.freeze();
          }
          try {
            settledInTime = await inTime;
          } finally {
            if (held) server.thaw();
          }
          const err = await step;
          expect(err).toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNCONFIRMED' });
          const outcome = { ms: settledAt - started, message: err.message, settledInTime };
          if (!settledInTime) stuck = outcome;
          else if (held && /had not answered/.test(err.message)) late.push(outcome);
          else early.push(outcome);
          // WAIT's late answer is still taken by the connection: nothing is refused.
          expect(await client.command(['GET', 'sentinel:short'])).toEqual(Buffer.from(value));
        }
      } finally {
        replica.thaw();
      }
    });
    console.log(`durable steps of ${deadline} ms with WAIT answered after Redis was stopped: ` +
      `${late.map((o) => `${o.ms.toFixed(0)} ms`).join(', ')}; answered before: ${early.map((o) => o.message).join('; ') || 'none'}`);
    // Settled by the step's own deadline while the stopped master could not answer WAIT.
    expect(stuck).toBeNull();
    expect(late).toHaveLength(2);
    for (const outcome of late) {
      expect(outcome).toMatchObject({ message: `WAIT 1 had not answered within ${deadline} ms`, settledInTime: true });
      expect(outcome.ms).toBeGreaterThanOrEqual(deadline - 50);
    }
    // The durable connection paired WAIT's late answers with their commands: the next step is confirmed.
    expect(await client.commandDurable(['SET', 'sentinel:short', 'after'], 5000)).toBe('OK');
    await setup.waitReady();
  });

  it('with every Sentinel down: UNAVAILABLE errors naming them, then the master once they are back', async () => {
    const { port } = await setup.master();
    await Promise.all(setup.sentinelNodes.map((s) => s.stop('SIGKILL')));
    const client = makeClient(setup);
    await waitFor(() => client.errors().length >= 1, { what: 'an error' });
    const [err] = client.errors();
    expect(err.code).toBe('ERR_RESPCACHE_REDIS_UNAVAILABLE');
    expect(err.message).toMatch(/^no Sentinel named the master of "mymaster"; tried /);
    for (const s of setup.sentinelAddrs()) expect(err.message).toContain(`127.0.0.1:${s.port} (`);
    await expect(client.command(['PING'])).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE' });
    expect(client.status).toBe('connecting');
    // Let the back-off reach its 1 s ceiling.
    await waitFor(() => client.errors().length >= 5, { timeout: 15000, what: 'five failed rounds' });
    const back = performance.now();
    await Promise.all(setup.sentinelNodes.map((s) => s.start()));
    await Promise.all(setup.sentinelNodes.map((s) => setup._tune(s)));
    await waitFor(() => client.status === 'ready', { timeout: 15000, what: 'ready after the Sentinels returned' });
    console.log(`every Sentinel down: ready ${(performance.now() - back).toFixed(0)} ms after they were started again`);
    expect(client.master).toEqual({ host: '127.0.0.1', port });
    expect(await client.command(['SET', 'sentinel:back', '1'])).toBe('OK');
    await setup.waitReady();
  });
});

describe('SentinelClient following failovers', () => {
  let setup;
  let unsubscribe;
  const switches = [];  // +switch-master as this test's own subscription saw them

  beforeAll(async () => {
    setup = await startSentinels({ replicas: 1, sentinels: 3 });
    unsubscribe = await setup.subscribe((event) => switches.push(event));
  });
  afterAll(async () => {
    if (unsubscribe) unsubscribe();
    await setup.close();
  });

  it('SENTINEL FAILOVER: onMaster names the new master on +switch-master, and writes land there', async () => {
    const script = "return 'on every master'";
    const sha = crypto.createHash('sha1').update(script).digest('hex');
    const client = makeClient(setup, { preload: [script] });
    // Durable: a forced failover promotes the replica at once, losing what it has not received.
    expect(await client.commandDurable(['SET', 'sentinel:before', '1'], 1000)).toBe('OK');
    const replica = setup.nodes().find((n) => n.port !== client.master.port);
    expect(await replica.client().script('EXISTS', sha)).toEqual([0]);  // SCRIPT LOAD is not replicated
    const { outcome: result, moved } = await movedBySwitchOnly(client, () => setup.failover());
    expect(moved).toMatchObject({ host: '127.0.0.1', port: result.to });
    const heard = firstSwitchTo(switches, result.to);
    console.log(`forced failover: onMaster ${(moved.at - heard.at).toFixed(1)} ms after the first +switch-master`);
    expect(client.master).toEqual({ host: '127.0.0.1', port: result.to });
    expect(await client.command(['SET', 'sentinel:after', '2'])).toBe('OK');
    expect(await client.command(['EVALSHA', sha, '0'])).toEqual(Buffer.from('on every master'));
    const promoted = setup.byPort(result.to);
    expect((await promoted.client().role())[0]).toBe('master');
    expect(await promoted.client().mget('sentinel:before', 'sentinel:after')).toEqual(['1', '2']);
    // A deliberate move: 'reconnecting' with no error.
    expect(client.errors()).toEqual([]);
    expect(client.events.map((e) => e.type)).toEqual(['ready', 'reconnecting', 'ready']);
    await setup.waitReady();
  });

  let killed;

  it('killMaster: onMaster names the promoted replica on +switch-master, and writes land there', async () => {
    const client = makeClient(setup);
    await client.command(['PING']);
    const before = await setup.master();
    const { outcome, moved, dropped } = await movedBySwitchOnly(client, () => setup.killMaster());
    killed = outcome;
    expect(moved.port).toBe(killed.to);
    expect(dropped).toContain(RECONNECTING_CHECK_MS);  // its 'reconnecting' check would have asked the Sentinels
    const heard = firstSwitchTo(switches, killed.to);
    console.log(`killMaster: +switch-master ${killed.switchMs.toFixed(0)} ms after SIGKILL, ` +
      `onMaster ${(moved.at - heard.at).toFixed(1)} ms after it`);
    expect(killed.from).toBe(before.port);
    expect(await client.command(['SET', 'sentinel:killed', '1'])).toBe('OK');
    expect(await setup.byPort(killed.to).client().get('sentinel:killed')).toBe('1');
    // The lost connection said so; the move itself did not.
    expect(client.errors().length).toBeGreaterThanOrEqual(1);
    expect(client.errors().every((e) => e.code === 'ERR_RESPCACHE_REDIS_UNAVAILABLE')).toBe(true);
  });

  it('never writes to the killed master restarted empty (a master until Sentinel demotes it)', async () => {
    const client = makeClient(setup);
    await client.command(['PING']);
    const acked = [];
    let stop = false;
    let issued = -1;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        issued = i;
        const ok = await client.command(['SET', `sentinel:w:${i}`, String(i)]).then(() => true, () => false);
        if (ok) acked.push(i);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const old = setup.byPort(killed.from);
    // A node first started as a replica would come back as one: start it as an empty master.
    const replicaof = old.extraArgs.indexOf('--replicaof');
    if (replicaof >= 0) old.extraArgs.splice(replicaof, 3);
    const started = performance.now();
    // Now and then (about 1 run in 3 here) the Sentinels fail over once more, to the restarted
    // node, within a few seconds of its return: then the client must follow them there, and the
    // writes the other master acknowledged are lost by that failover, not by the client.
    const failedOverAgain = () => switches.find((e) => e.at >= started && e.from.port === killed.to);
    let demotedMs;
    let firstAfterStart;
    try {
      await old.start();
      firstAfterStart = issued + 1;
      expect((await old.client().role())[0]).toBe('master');
      // Redis 7 drops its clients when it is demoted: an INFO cut off by that asks again.
      await waitFor(async () => failedOverAgain()
        || /role:slave[^]*master_link_status:up/.test(await old.client().info('replication').catch(() => '')),
      { timeout: 15000, interval: 50, what: 'the restarted node a linked replica (or the new master)' });
      demotedMs = performance.now() - started;
      await setup.waitReady();
    } finally {
      stop = true;
      await writer;
    }
    const again = failedOverAgain();
    if (again) {
      console.log(`the Sentinels failed over again, to ${again.to.port}, ${(again.at - started).toFixed(0)} ms after the restart`);
      const { port } = await setup.master();
      await waitFor(() => client.masters[client.masters.length - 1].port === port, { timeout: 15000, what: 'the client at the Sentinels\' master' });
      return;
    }
    console.log(`killed master restarted empty: a master for ${demotedMs.toFixed(0)} ms until a linked replica; ` +
      `${acked.length} writes acknowledged meanwhile`);
    // How many fall in the restarted node's time as a master is the Sentinels' doing; some were
    // written while it was there.
    expect(acked.some((i) => i >= firstAfterStart)).toBe(true);
    expect(client.masters.map((m) => m.port)).toEqual([killed.to]);
    // A write acknowledged by the restarted node would have been lost at its resync.
    const current = setup.byPort(killed.to).client();
    const values = await current.mget(...acked.map((i) => `sentinel:w:${i}`));
    expect(values).toEqual(acked.map(String));
  });

  it('counts a replica that goes down and one that comes back as the Sentinels announce it, not at the periodic check', async () => {
    await setup.waitReady();
    const client = makeClient(setup);
    await client.command(['PING']);
    await waitFor(() => client.replicas === 1, { what: 'the replica counted' });
    // The 5 s check is stopped (reaching into the client on purpose): only the events can move the count.
    clearInterval(client._replicasCheck);
    const { port: master } = await setup.master();
    const replica = setup.dataNodes.find((n) => n.running && n.port !== master);
    const killedAt = performance.now();
    await replica.stop('SIGKILL');
    // +sdown after the Sentinels' down-after-milliseconds (1 s).
    await waitFor(() => client.replicas === 0, { timeout: 15000, interval: 10, what: 'the dead replica taken off the count' });
    const downMs = performance.now() - killedAt;
    const restarted = setup.restart(replica);
    await waitFor(() => client.replicas === 1, { timeout: 15000, interval: 10, what: 'the replica counted again' });
    const backAt = performance.now();
    const { readyAt } = await restarted;
    console.log(`replica count: 0 ${downMs.toFixed(0)} ms after SIGKILL, 1 again ${(backAt - readyAt).toFixed(0)} ms from the fixture's "ready"`);
    // Invalidation writes wait for it again.
    expect(await client.commandDurable(['SET', 'sentinel:counted', '1'], 2000)).toBe('OK');
    expect(await replica.client().get('sentinel:counted')).toBe('1');
  });
});

describe('SentinelClient backstops, when +switch-master is missed', () => {
  let setup;

  beforeAll(async () => {
    setup = await startSentinels({ replicas: 1, sentinels: 3 });
  });
  afterAll(() => setup.close());

  /** A client whose Sentinel subscriptions are closed (reaching into the client on purpose). */
  async function deafClient() {
    const client = makeClient(setup);
    await client.command(['PING']);
    await Promise.all([...client._subscribers.values()].map((s) => s.close()));
    return client;
  }

  it('a demoted master (Redis drops the connection, then ROLE says replica) sends it back to the Sentinels at once', async () => {
    const client = await deafClient();
    // The 200 ms "reconnecting" check dropped: the Sentinels can only be asked at the error.
    const checks = dropSchedules(client, (ms) => ms === RECONNECTING_CHECK_MS);
    let result;
    let started;
    try {
      result = await setup.failover();
      // The old master stays a master until a Sentinel's next INFO demotes it; writes find out.
      started = performance.now();
      await waitFor(async () => {
        await client.command(['SET', 'sentinel:probe', '1']).catch(() => {});
        return client.master.port === result.to;
      }, { timeout: 15000, interval: 20, what: 'the client on the promoted replica' });
    } finally {
      checks.restore();
    }
    // Redis 7 drops the clients of a master it demotes; the next attempt's ROLE check refuses it.
    const dropped = client.events.find((e) => e.type === 'reconnecting');
    const noticed = client.events.find((e) => e.type === 'error' && /is a replica, not a master|answered READONLY/.test(e.err.message));
    expect(noticed).toBeDefined();
    const moved = client.masters[1];
    console.log(`missed forced failover: on the new master ${(performance.now() - started).toFixed(0)} ms after every ` +
      `Sentinel agreed (the old one is demoted only then); onMaster ${(moved.at - dropped.at).toFixed(0)} ms after ` +
      `the connection dropped, ${(moved.at - noticed.at).toFixed(0)} ms after "${noticed.err.message}" ` +
      `(${checks.dropped.length} "reconnecting" check(s) dropped)`);
    expect(client.masters.map((m) => m.port)).toEqual([result.from, result.to]);
    expect(await client.command(['SET', 'sentinel:backstop', '1'])).toBe('OK');
    expect(await setup.byPort(result.to).client().get('sentinel:backstop')).toBe('1');
    await setup.waitReady();
  });

  it('a killed master: "reconnecting" for > 200 ms asks the Sentinels until they name the promoted replica', async () => {
    const client = await deafClient();
    const planned = plannedRounds(client);
    const outcome = await setup.killMaster();
    await waitFor(() => client.master.port === outcome.to, { timeout: 15000, what: 'the client on the promoted replica' });
    const moved = client.masters[1];
    console.log(`missed switch after a kill: onMaster ${(moved.at - outcome.switchedAt).toFixed(0)} ms after +switch-master; ` +
      `rounds planned ${planned.map((p) => p.ms.toFixed(0)).join(', ')} ms ahead`);
    // The first round at the "reconnecting" check, then rounds every 1 s at most while reconnecting.
    expect(planned.length).toBeGreaterThanOrEqual(2);
    expect(planned[0].ms).toBeLessThanOrEqual(RECONNECTING_CHECK_MS);
    expect(planned[0].ms).toBeGreaterThan(RECONNECTING_CHECK_MS - 50);
    for (const { ms, status } of planned) {
      expect(ms).toBeLessThanOrEqual(MAX_BACKOFF_MS);
      expect(status).toBe('reconnecting');
    }
    expect(await client.command(['SET', 'sentinel:after-kill', '1'])).toBe('OK');
    expect(await setup.byPort(outcome.to).client().get('sentinel:after-kill')).toBe('1');
  });
});

describe('SentinelClient over TLS, to the Sentinels and to the data nodes', () => {
  let setup;
  let tls;

  beforeAll(async () => {
    setup = await startSentinels({ replicas: 1, sentinels: 3, tls: { dir: certDir() } });
    tls = tlsOptions({ ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') });
  });
  afterAll(() => setup.close());

  it('finds the master, serves commands and follows a failover, all over TLS', async () => {
    const client = makeClient(setup, { sentinelTls: tls, endpoint: { tls, db: 1 } });
    expect(await client.commandDurable(['SET', 'sentinel:tls', '1'], 1000)).toBe('OK');
    const { server } = await setup.master();
    expect(await server.client({ db: 1 }).get('sentinel:tls')).toBe('1');
    const result = await setup.failover();
    await waitFor(() => client.master.port === result.to, { timeout: 10000, what: 'onMaster after the failover' });
    expect(await client.command(['SET', 'sentinel:tls-after', '2'])).toBe('OK');
    expect(await setup.byPort(result.to).client({ db: 1 }).mget('sentinel:tls', 'sentinel:tls-after')).toEqual(['1', '2']);
    expect(client.errors()).toEqual([]);
  });

  it('throws from the constructor when the addon refuses sentinelTls (a key that is not the certificate\'s)', () => {
    const bad = tlsOptions({ ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('other-client.key') });
    expect(() => new SentinelClient({ sentinels: setup.sentinelAddrs(), name: setup.name, sentinelTls: bad }))
      .toThrow(expect.objectContaining({ code: 'ERR_RESPCACHE_TLS_BAD_OPTIONS' }));
  });

  it('reports a data-node tls the addon refuses as an "error", and rejects commands with it', async () => {
    const bad = tlsOptions({ ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('other-client.key') });
    const client = makeClient(setup, { sentinelTls: tls, endpoint: { tls: bad } });
    await expect(client.command(['PING'])).rejects.toMatchObject({ code: 'ERR_RESPCACHE_TLS_BAD_OPTIONS' });
    expect(client.errors().map((e) => e.code)).toEqual(['ERR_RESPCACHE_TLS_BAD_OPTIONS']);
    await expect(client.command(['PING'])).rejects.toMatchObject({ code: 'ERR_RESPCACHE_TLS_BAD_OPTIONS' });
    expect(client.status).toBe('connecting');
  });

  it('without sentinelTls no Sentinel answers', async () => {
    const client = makeClient(setup, { endpoint: { tls }, connectTimeout: 300 });
    await waitFor(() => client.errors().length >= 1, { what: 'an error' });
    expect(client.errors()[0].code).toBe('ERR_RESPCACHE_REDIS_UNAVAILABLE');
    expect(client.master).toBeNull();
  });
});

describe('SentinelClient with passwords on the data nodes and on the Sentinels', () => {
  let setup;

  beforeAll(async () => {
    setup = await startSentinels({ replicas: 1, sentinels: 3, password: 'data-pw', sentinelPassword: 'sentinel-pw' });
  });
  afterAll(() => setup.close());

  it('authenticates to each with its own password, across a failover', async () => {
    const client = makeClient(setup, { endpoint: { password: 'data-pw' }, sentinelAuth: { password: 'sentinel-pw' } });
    expect(await client.commandDurable(['SET', 'sentinel:auth', '1'], 1000)).toBe('OK');
    const result = await setup.failover();
    await waitFor(() => client.master.port === result.to, { timeout: 10000, what: 'onMaster after the failover' });
    expect(await client.command(['GET', 'sentinel:auth'])).toEqual(Buffer.from('1'));
    expect(client.errors()).toEqual([]);
  });

  it('names the Sentinels\' refusal of a wrong password', async () => {
    const client = makeClient(setup, { endpoint: { password: 'data-pw' }, sentinelAuth: { password: 'wrong' } });
    await waitFor(() => client.errors().length >= 1, { what: 'an error' });
    const [err] = client.errors();
    expect(err.code).toBe('ERR_RESPCACHE_REDIS_UNAVAILABLE');
    for (const s of setup.sentinelAddrs()) expect(err.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${s.port} \\([^)]*WRONGPASS`));
  });
});

describe('SentinelClient teardown and a master with no replica', () => {
  let setup;

  beforeAll(async () => {
    setup = await startSentinels({ replicas: 0, sentinels: 1 });
  });
  afterAll(() => setup.close());

  it('commandDurable sends no WAIT when the master has no replica', async () => {
    const { server } = await setup.master();
    const client = makeClient(setup);
    expect(await client.commandDurable(['SET', 'sentinel:alone', '1'])).toBe('OK');
    expect(client.replicas).toBe(0);
    expect(await calls(server, 'wait')).toBe(0);
  });

  it('close() rejects commands waiting for the first master with CLOSED, and says "end"', async () => {
    const client = makeClient(setup);
    const waiting = client.command(['PING']);
    const closed = client.close();
    expect(client.status).toBe('closed');
    await expect(waiting).rejects.toBeInstanceOf(CacheClosedError);
    await closed;
    await expect(client.command(['PING'])).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_CLOSED' });
    expect(client.events.map((e) => e.type)).toEqual(['end']);
  });

  // A child still running by then does not exit on its own (what these tests look for is a handle
  // left open, which never ends): far beyond a node start, a discovery and a few commands on a
  // loaded machine. Those tests get a Jest timeout above it, so that the kill reports.
  const CHILD_KILL_MS = 30000;
  const CHILD_TEST_MS = CHILD_KILL_MS + 15000;

  /** Runs a child that makes a client, does `stage` and closes it; resolves with its exit. */
  function child(stage, sentinels) {
    const script = `
      const { SentinelClient } = require(${JSON.stringify(path.join(__dirname, '../../lib/stores/sentinel'))});
      const client = new SentinelClient({ sentinels: ${JSON.stringify(sentinels)}, name: 'mymaster',
        connectTimeout: 2000, commandTimeout: 2000, onEvent() {} });
      (async () => {
        if (${JSON.stringify(stage)} === 'after-commands') {
          await client.command(['SET', 'sentinel:child', '1']);
          await client.commandDurable(['GET', 'sentinel:child']);
        } else if (${JSON.stringify(stage)} === 'in-back-off') {
          await new Promise((r) => setTimeout(r, 400));
        }
        await client.close();
        console.log('closed ' + client.status);
      })();`;
    return new Promise((resolve) => {
      const started = performance.now();
      const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
      let out = '';
      proc.stdout.on('data', (d) => { out += d; });
      proc.stderr.on('data', (d) => { out += d; });
      const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_KILL_MS);
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, out, ms: performance.now() - started });
      });
    });
  }

  it.each([
    ['after-commands', 'after commands on the master'],
    ['at-once', 'at once, during the first discovery'],
  ])('lets the process exit on its own: close() %s', async (stage) => {
    const result = await child(stage, setup.sentinelAddrs());
    expect(result).toMatchObject({ code: 0, signal: null, out: 'closed closed\n' });
    expect(result.ms).toBeLessThan(CHILD_KILL_MS);
  }, CHILD_TEST_MS);

  it('lets the process exit on its own: close() between rounds while no Sentinel answers', async () => {
    const result = await child('in-back-off', [{ host: '127.0.0.1', port: await freePort() }]);
    expect(result).toMatchObject({ code: 0, signal: null, out: 'closed closed\n' });
    expect(result.ms).toBeLessThan(CHILD_KILL_MS);
  }, CHILD_TEST_MS);
});
