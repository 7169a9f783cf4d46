'use strict';

// Each lifecycle stage of the native client, in a child process of its own: the process must end
// by itself with code 0 (no hang from a forgotten handle, no crash at teardown).
const { spawn } = require('child_process');
const path = require('path');
const { startRedis, freePort } = require('../helpers/redis');

const binding = path.join(__dirname, '..', '..', 'lib', 'binding.js');

function runChild(source, timeoutMs = 10000) {
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

const prelude = `
  const { RedisClient } = require(${JSON.stringify(binding)});
  const ready = (c) => new Promise((r) => { const t = setInterval(() => {
    if (c.status === 'ready') { clearInterval(t); r(); } }, 5); });
`;

describe('native client lifecycle', () => {
  let redis;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis.close(); });

  it('exits on its own after close() of a connected client', async () => {
    const r = await runChild(`${prelude}
      const c = new RedisClient({ port: ${redis.port}, onEvent() {} });
      ready(c).then(() => c.command(['PING'])).then((p) => { console.log(p); return c.close(); });
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.output).toContain('PONG');
  });

  it('exits on its own after close() while still connecting', async () => {
    const r = await runChild(`${prelude}
      const c = new RedisClient({ port: ${redis.port}, onEvent() {} });
      c.close().then(() => console.log('closed'));
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.output).toContain('closed');
  });

  it('exits on its own after close() while Redis is down and reconnecting', async () => {
    const port = await freePort();
    const r = await runChild(`${prelude}
      const c = new RedisClient({ port: ${port}, onEvent(type) {
        if (type === 'reconnecting') c.close().then(() => console.log('closed'));
      } });
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.output).toContain('closed');
  });

  it('exits cleanly on process.exit() with an open client and commands in flight', async () => {
    const r = await runChild(`${prelude}
      const c = new RedisClient({ port: ${redis.port}, onEvent() {} });
      ready(c).then(() => {
        for (let i = 0; i < 100; i++) c.command(['PING']);
        process.exit(0);
      });
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
  });

  it('survives a worker thread that is terminated with an open client', async () => {
    const r = await runChild(`
      const { Worker } = require('worker_threads');
      const w = new Worker(\`${prelude.replace(/`/g, '\\`')}
        const c = new RedisClient({ port: ${redis.port}, onEvent() {} });
        ready(c).then(() => c.command(['PING'])).then((p) => require('worker_threads').parentPort.postMessage(p));
      \`, { eval: true });
      w.on('message', (m) => { console.log(m); w.terminate(); });
      w.on('exit', () => console.log('worker gone'));
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.output).toContain('PONG');
    expect(r.output).toContain('worker gone');
  });

  it('exits on its own after close() of a subscriber with active subscriptions', async () => {
    const r = await runChild(`${prelude}
      // Subscribing while connecting waits within commandTimeout: generous for sanitizer builds.
      const pub = new RedisClient({ port: ${redis.port}, commandTimeout: 5000, onEvent() {} });
      const sub = new RedisClient({ port: ${redis.port}, subscriber: true, commandTimeout: 5000,
                                    onEvent(type, _e, channel, payload) {
        if (type !== 'message') return;
        console.log('got ' + channel + '=' + payload);
        Promise.all([sub.close(), pub.close()]).then(() => console.log('closed'));
      } });
      Promise.all([sub.subscribe('life:a'), sub.psubscribe('life:*'), ready(pub)])
        .then(() => pub.command(['PUBLISH', 'life:a', 'x']));
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.output).toContain('got life:a=x');
    expect(r.output).toContain('closed');
  });

  it('exits cleanly on process.exit() with a subscriber waiting for confirmations', async () => {
    const r = await runChild(`${prelude}
      const sub = new RedisClient({ port: ${redis.port}, subscriber: true, onEvent() {} });
      ready(sub).then(() => {
        for (let i = 0; i < 100; i++) sub.subscribe('exit:' + i);
        process.exit(0);
      });
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
  });

  it('survives a worker thread that is terminated with an active subscriber', async () => {
    const r = await runChild(`
      const { Worker } = require('worker_threads');
      const w = new Worker(\`${prelude.replace(/`/g, '\\`')}
        const sub = new RedisClient({ port: ${redis.port}, subscriber: true, commandTimeout: 5000, onEvent() {} });
        sub.subscribe('worker:a').then(() => {
          // Terminated while these wait for their confirmations (5 s: under the sanitizer pass
          // 100 ms passed once, and a rejection left unhandled fails the worker, exit 1).
          for (let i = 0; i < 50; i++) sub.subscribe('worker:' + i).catch(() => {});
          require('worker_threads').parentPort.postMessage('subscribed');
        });
      \`, { eval: true });
      w.on('message', (m) => { console.log(m); w.terminate(); });
      w.on('exit', () => console.log('worker gone'));
    `);
    expect([r.code, r.signal, r.code === 0 ? '' : r.output]).toEqual([0, null, '']);
    expect(r.output).toContain('subscribed');
    expect(r.output).toContain('worker gone');
  });

  it('survives a worker thread that ends on its own while its client is closing', async () => {
    const r = await runChild(`
      const { Worker } = require('worker_threads');
      const w = new Worker(\`${prelude.replace(/`/g, '\\`')}
        const c = new RedisClient({ port: ${redis.port}, onEvent() {} });
        ready(c).then(() => { c.command(['PING']); c.close(); });
      \`, { eval: true });
      w.on('exit', (code) => console.log('worker exit ' + code));
    `);
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.output).toContain('worker exit 0');
  });
});
