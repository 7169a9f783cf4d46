'use strict';

// The native single-flight table as JavaScript reaches it: who leads, what followers receive, when
// they give up waiting, and how a process with followers still waiting ends.
const { spawn } = require('child_process');
const path = require('path');
const binding = require('../../lib/binding');

const bindingPath = path.join(__dirname, '..', '..', 'lib', 'binding.js');

// A child that has not exited by then is held alive by something (the failures these tests look
// for hold it for a 60 s leader's wait): far beyond a node start under the sanitizer on a loaded
// machine. The lifecycle tests get a Jest timeout above it, so that the kill, not Jest, reports it.
const CHILD_KILL_MS = 30000;
const LIFECYCLE_TEST_MS = CHILD_KILL_MS + 15000;

function runChild(source, { args = [], timeoutMs = CHILD_KILL_MS } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...args, '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, elapsed: Date.now() - started });
    });
  });
}

// Settles to true if `promise` settled before every reaction already queued has run.
async function isSettled(promise) {
  const marker = {};
  return (await Promise.race([promise, Promise.resolve(marker)])) !== marker;
}

describe('SingleFlight', () => {
  let sf;
  beforeEach(() => { sf = new binding.SingleFlight(); });

  describe('when nothing is in flight for the key', () => {
    it('makes the caller the leader (join returns null) and starts a flight', () => {
      expect(sf.size).toBe(0);
      expect(sf.join('k', 1000)).toBeNull();
      expect(sf.size).toBe(1);
    });

    it('serves no one on complete() or fail()', () => {
      expect(sf.complete('nobody', Buffer.from('x'))).toBe(0);
      expect(sf.fail('nobody')).toBe(0);
    });
  });

  describe('when a leader is filling the key', () => {
    beforeEach(() => { expect(sf.join('k', 1000)).toBeNull(); });

    it('makes later callers followers (join returns a promise)', async () => {
      const p = sf.join('k', 1000);
      expect(require('util').types.isPromise(p)).toBe(true);  // Node's realm, not Jest's
      expect(await isSettled(p)).toBe(false);
      expect(sf.size).toBe(1);
      sf.fail('k');
    });

    it('gives all 200 followers the same payload once, in one shared Buffer', async () => {
      const waits = Array.from({ length: 200 }, () => sf.join('k', 5000));
      const body = Buffer.from('{"products":[1,2,3]}');
      expect(sf.complete('k', body)).toBe(200);
      body.fill(0);  // the leader may reuse its Buffer: followers got a copy of the bytes
      const results = await Promise.all(waits);
      for (const r of results) {
        expect(r.kind).toBe('value');
        expect(r.payload.toString()).toBe('{"products":[1,2,3]}');
        expect(r.payload).toBe(results[0].payload);
      }
    });

    it('delivers an empty payload as an empty Buffer', async () => {
      const p = sf.join('k', 1000);
      sf.complete('k', Buffer.alloc(0));
      const r = await p;
      expect(r.kind).toBe('value');
      expect(Buffer.isBuffer(r.payload)).toBe(true);
      expect(r.payload.length).toBe(0);
    });

    it('ends the flight on complete(): the next caller leads a new one', async () => {
      const p = sf.join('k', 1000);
      expect(sf.complete('k', Buffer.from('v'))).toBe(1);
      expect(sf.size).toBe(0);
      expect(sf.complete('k', Buffer.from('again'))).toBe(0);
      await p;
      expect(sf.join('k', 1000)).toBeNull();
    });

    it('tells every follower "failed" on fail(), so each runs its own handler', async () => {
      const waits = [sf.join('k', 1000), sf.join('k', 1000), sf.join('k', 1000)];
      expect(sf.fail('k')).toBe(3);
      expect(sf.size).toBe(0);
      expect(await Promise.all(waits)).toEqual([{ kind: 'failed' }, { kind: 'failed' }, { kind: 'failed' }]);
    });

    it('answers "timeout" when the leader takes longer than the follower waits', async () => {
      const started = Date.now();
      const r = await sf.join('k', 50);
      expect(r).toEqual({ kind: 'timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(40);
      // The flight is still the leader's; its late result reaches no one.
      expect(sf.size).toBe(1);
      expect(sf.complete('k', Buffer.from('late'))).toBe(0);
    });

    it('times out only the followers whose own timeout has passed', async () => {
      const patient = sf.join('k', 10000);
      const hasty = sf.join('k', 20);
      expect(await hasty).toEqual({ kind: 'timeout' });
      expect(await isSettled(patient)).toBe(false);
      expect(sf.complete('k', Buffer.from('v'))).toBe(1);
      expect((await patient).payload.toString()).toBe('v');
    });

    it('lets a follower that timed out lead the next flight once the first ends', async () => {
      expect((await sf.join('k', 10)).kind).toBe('timeout');
      sf.fail('k');
      expect(sf.join('k', 1000)).toBeNull();
    });
  });

  describe('with several keys', () => {
    it('keeps flights apart by their exact key', async () => {
      for (const key of ['a', 'A', 'a ', 'b']) expect(sf.join(key, 1000)).toBeNull();
      expect(sf.size).toBe(4);
      const a = sf.join('a', 1000);
      const b = sf.join('b', 1000);
      expect(sf.complete('a', Buffer.from('for a'))).toBe(1);
      expect((await a).payload.toString()).toBe('for a');
      expect(await isSettled(b)).toBe(false);
      expect(sf.size).toBe(3);
      expect(sf.fail('b')).toBe(1);
      expect(await b).toEqual({ kind: 'failed' });
    });

    it('keeps tables apart', async () => {
      const other = new binding.SingleFlight();
      expect(sf.join('k', 1000)).toBeNull();
      expect(other.join('k', 1000)).toBeNull();
      const p = other.join('k', 1000);
      expect(sf.fail('k')).toBe(0);
      expect(other.fail('k')).toBe(1);
      await p;
    });
  });

  describe('when called with bad arguments', () => {
    // By name: errors made in native code belong to Node's realm, not to Jest's sandbox.
    it.each([
      ['a key that is not a string', () => sf.join(1, 100), TypeError, 'join(): key must be a string'],
      ['a missing timeout', () => sf.join('k'), RangeError, 'join(): timeoutMs must be a number of milliseconds, 1..86400000'],
      ['a zero timeout', () => sf.join('k', 0), RangeError, 'timeoutMs must be'],
      ['a timeout beyond a day', () => sf.join('k', 86400001), RangeError, 'timeoutMs must be'],
      ['a NaN timeout', () => sf.join('k', NaN), RangeError, 'timeoutMs must be'],
      ['a payload that is not a Buffer', () => sf.complete('k', 'text'), TypeError, 'complete(): payload must be a Buffer'],
      ['fail() without a key', () => sf.fail(), TypeError, 'fail(): key must be a string'],
    ])('throws on %s', (_, call, type, message) => {
      expect(call).toThrow(expect.objectContaining({ name: type.name, message: expect.stringContaining(message) }));
    });
  });

  describe('process lifecycle', () => {
    const prelude = `const { SingleFlight } = require(${JSON.stringify(bindingPath)});`;

    it('keeps the process alive for a waiting follower, then exits once its timeout fires', async () => {
      const r = await runChild(`${prelude}
        const sf = new SingleFlight();
        sf.join('k', 60000);  // a leader that never finishes
        const started = Date.now();
        sf.join('k', 300).then((o) => console.log(o.kind, Date.now() - started >= 250));
      `);
      expect(r).toMatchObject({ code: 0, signal: null });
      expect(r.output.trim()).toBe('timeout true');
    }, LIFECYCLE_TEST_MS);

    it('does not keep the process alive for a leader alone', async () => {
      const r = await runChild(`${prelude}
        const sf = new SingleFlight();
        sf.join('k', 60000);
        console.log('led', sf.size);
      `);
      expect(r).toMatchObject({ code: 0, signal: null });
      expect(r.output.trim()).toBe('led 1');
      // Held for the leader's 60 s, it would have been killed (signal SIGKILL above).
      expect(r.elapsed).toBeLessThan(CHILD_KILL_MS);
    }, LIFECYCLE_TEST_MS);

    it('answers the followers of a table that JavaScript no longer references', async () => {
      const r = await runChild(`${prelude}
        let p;
        (() => { const sf = new SingleFlight(); sf.join('k', 60000); p = sf.join('k', 200); })();
        global.gc();
        p.then((o) => { global.gc(); console.log(o.kind); });
      `, { args: ['--expose-gc'] });
      expect(r).toMatchObject({ code: 0, signal: null });
      expect(r.output.trim()).toBe('timeout');
    }, LIFECYCLE_TEST_MS);

    it('exits cleanly on process.exit() with followers waiting', async () => {
      const r = await runChild(`${prelude}
        const sf = new SingleFlight();
        sf.join('k', 60000);
        for (let i = 0; i < 100; i++) sf.join('k', 60000);
        setTimeout(() => process.exit(0), 10);
      `);
      expect(r).toMatchObject({ code: 0, signal: null });
    }, LIFECYCLE_TEST_MS);

    it('survives a worker thread that is terminated with followers waiting', async () => {
      const r = await runChild(`
        const { Worker } = require('worker_threads');
        const w = new Worker(\`${prelude}
          const sf = new SingleFlight();
          sf.join('k', 60000);
          for (let i = 0; i < 100; i++) sf.join('k', 60000);
          require('worker_threads').parentPort.postMessage('waiting');
        \`, { eval: true });
        w.on('message', (m) => { console.log(m); w.terminate(); });
        w.on('exit', () => console.log('worker gone'));
      `);
      expect(r).toMatchObject({ code: 0, signal: null });
      expect(r.output).toContain('waiting');
      expect(r.output).toContain('worker gone');
    }, LIFECYCLE_TEST_MS);
  });
});
