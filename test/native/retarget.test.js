'use strict';

// What the Sentinel facade needs from the native RedisClient, against real redis-servers:
// retarget({ host, port }), expectMaster (ROLE in every handshake, READONLY backstop) and preload.
const crypto = require('crypto');
const { RedisClient } = require('../../lib/binding');
const { startRedis, tempDir } = require('../helpers/redis');
const { certDir, pem } = require('../helpers/tls-certs');

/** A client whose events are recorded, with a promise for the next event of each type. */
function makeClient(options) {
  const events = [];
  const waiters = [];
  const client = new RedisClient({
    host: '127.0.0.1',
    commandTimeout: 2000,
    ...options,
    onEvent(type, arg) {
      events.push({ type, arg });
      for (const w of waiters.splice(0)) {
        if (w.type === type) w.resolve(arg); else waiters.push(w);
      }
    },
  });
  client.events = events;
  client.next = (type) => new Promise((resolve) => waiters.push({ type, resolve }));
  client.ready = () => (client.status === 'ready' ? Promise.resolve() : client.next('ready'));
  return client;
}

/** Polls `fn` every 20 ms until it returns a truthy value (or fails after `ms`). */
async function until(fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms: ${fn}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sha1 = (text) => crypto.createHash('sha1').update(text).digest('hex');

describe('RedisClient.retarget()', () => {
  let a;
  let b;
  const clients = [];
  const track = (c) => { clients.push(c); return c; };

  beforeAll(async () => {
    [a, b] = await Promise.all([startRedis(), startRedis()]);
    await a.client().set('where', 'a');
    await b.client().set('where', 'b');
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([a.close(), b.close()]);
  });

  it('fails the command in flight, then serves from the new server', async () => {
    const client = track(makeClient({ port: a.port }));
    await client.ready();
    expect(await client.command(['GET', 'where'])).toEqual(Buffer.from('a'));
    // A blocking command stays in flight on A until the retarget drops that connection.
    const blocked = client.command(['BLPOP', 'retarget:nothing', 5], 10000);
    await until(async () => /blpop/.test(await a.client().client('LIST')));
    client.retarget({ host: '127.0.0.1', port: b.port });
    expect(client.status).toBe('reconnecting');
    const queued = client.command(['GET', 'where']);  // waits for the attempt to B
    await expect(blocked).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE' });
    expect(await queued).toEqual(Buffer.from('b'));
    await client.ready();
    // A deliberate move reports no error.
    expect(client.events.filter((e) => e.type === 'error')).toEqual([]);
    expect(client.events.map((e) => e.type)).toEqual(['ready', 'reconnecting', 'ready']);
  });

  it('re-subscribes a subscriber on the new server', async () => {
    const received = [];
    const sub = track(makeClient({ port: a.port, subscriber: true }));
    const events = sub.events;
    await sub.ready();
    await sub.subscribe('news');
    await sub.psubscribe('n*');
    sub.retarget({ host: '127.0.0.1', port: b.port });
    await sub.next('ready');
    expect(await b.client().pubsub('NUMSUB', 'news')).toEqual(['news', 1]);
    expect(await b.client().pubsub('NUMPAT')).toBe(1);
    expect(await a.client().pubsub('NUMSUB', 'news')).toEqual(['news', 0]);
    const messages = () => events.filter((e) => e.type === 'message' || e.type === 'pmessage');
    expect(await b.client().publish('news', 'from b')).toBe(2);  // the channel and the pattern
    await until(() => messages().length === 2);
    for (const e of messages()) received.push(e.type);
    expect(received.sort()).toEqual(['message', 'pmessage']);
  });

  it('keeps the TLS settings, the password and the db on the new server', async () => {
    const options = { tls: { dir: certDir(), authClients: 'yes' }, password: 'pw' };
    const [ta, tb] = await Promise.all([startRedis(options), startRedis(options)]);
    try {
      await tb.client({ db: 2 }).set('where', 'tls b');
      const client = track(makeClient({
        port: ta.port, password: 'pw', db: 2,
        tls: { ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key'), passphrase: '',
          servername: '', rejectUnauthorized: true, minVersion: 'TLSv1.2' },
      }));
      await client.ready();
      expect(await client.command(['GET', 'where'])).toBeNull();
      client.retarget({ host: '127.0.0.1', port: tb.port });
      expect(await client.command(['GET', 'where'])).toEqual(Buffer.from('tls b'));
      expect(client.events.filter((e) => e.type === 'error')).toEqual([]);
    } finally {
      await Promise.all([ta.close(), tb.close()]);
    }
  });

  it('rejects a target that is not { host, port }', () => {
    const client = track(makeClient({ port: a.port }));
    // (A TypeError of the addon's realm: toThrow(TypeError) would compare Jest's own.)
    expect(() => client.retarget()).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(() => client.retarget({ host: '127.0.0.1' })).toThrow('retarget() expects { host: string, port: 1..65535 }');
    expect(() => client.retarget({ host: '127.0.0.1', port: 70000 })).toThrow(/^retarget\(\) expects/);
    expect(() => client.retarget({ host: '', port: 6379 })).toThrow(/^retarget\(\) expects/);
  });
});

describe('RedisClient with expectMaster', () => {
  let master;
  let replica;
  const clients = [];
  const track = (c) => { clients.push(c); return c; };

  beforeAll(async () => {
    // No diskless-sync delay (5 s by default): ROLE lists a replica only once its sync is done.
    // Each its own --dir: a replica writes the RDB it receives to dump.rdb there.
    const args = () => ['--repl-diskless-sync-delay', '0', '--dir', tempDir('respcache-retarget-')];
    master = await startRedis({ args: args() });
    replica = await startRedis({ args: args() });
    await replica.client().replicaof('127.0.0.1', master.port);
    await until(async () => /state=online/.test(await master.client().info('replication')));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([master.close(), replica.close()]);
  });

  it('counts the replicas ROLE lists', async () => {
    const client = track(makeClient({ port: master.port, expectMaster: true }));
    expect(client.replicas).toBeNull();
    await client.ready();
    expect(client.replicas).toBe(1);
    const plain = track(makeClient({ port: master.port }));
    await plain.ready();
    expect(plain.replicas).toBeNull();
  });

  it('refuses a replica, then connects once it is promoted; READONLY sends it looking again', async () => {
    const client = track(makeClient({ port: replica.port, expectMaster: true }));
    const error = await client.next('error');
    expect(error).toMatchObject({
      code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE',
      message: `Redis at 127.0.0.1:${replica.port} is a replica, not a master`,
    });
    expect(client.status).toBe('reconnecting');
    await replica.client().replicaof('NO', 'ONE');
    await client.next('ready');  // the next retry (backoff ≤ 2 s) finds a master
    expect(client.replicas).toBe(0);
    expect(await client.command(['SET', 'promoted', '1'])).toBe('OK');

    // The old master is demoted under a connected client: the first write gets READONLY and
    // the client reconnects, refusing the replica it finds; a retarget moves it to the master.
    const old = track(makeClient({ port: master.port, expectMaster: true }));
    await old.ready();
    await master.client().replicaof('127.0.0.1', replica.port);
    const lostEvent = old.next('error');  // emitted in the same loop turn as the reply
    await expect(old.command(['SET', 'k', 'v'])).rejects.toMatchObject({
      code: 'ERR_RESPCACHE_REDIS_REPLY', message: expect.stringMatching(/^READONLY /),
    });
    const lost = await lostEvent;
    expect(lost.message).toBe(`Redis at 127.0.0.1:${master.port} answered READONLY: it is a replica now; reconnecting`);
    const refused = await old.next('error');
    expect(refused.message).toBe(`Redis at 127.0.0.1:${master.port} is a replica, not a master`);
    old.retarget({ host: '127.0.0.1', port: replica.port });
    await old.next('ready');
    expect(await old.command(['GET', 'promoted'])).toEqual(Buffer.from('1'));
  });

  it('rejects a non-boolean expectMaster', () => {
    expect(() => new RedisClient({ port: master.port, expectMaster: 'yes' }))
      .toThrow('RedisClient: the "expectMaster" option must be a boolean');
  });
});

describe('RedisClient with preload', () => {
  let a;
  let b;
  const clients = [];
  const track = (c) => { clients.push(c); return c; };
  const script = `return 'preloaded ${process.pid} ${Date.now()}'`;

  beforeAll(async () => {
    [a, b] = await Promise.all([startRedis(), startRedis()]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([a.close(), b.close()]);
  });

  it('loads the scripts before ready, on every new connection', async () => {
    expect(await a.client().script('EXISTS', sha1(script))).toEqual([0]);
    const client = track(makeClient({ port: a.port, preload: [script, 'return 2'] }));
    await client.ready();
    expect(await client.command(['EVALSHA', sha1(script), 0])).toEqual(Buffer.from(script.slice(8, -1)));
    expect(await client.command(['EVALSHA', sha1('return 2'), 0])).toBe(2);
    expect(await b.client().script('EXISTS', sha1(script))).toEqual([0]);
    client.retarget({ host: '127.0.0.1', port: b.port });
    await client.next('ready');
    expect(await client.command(['EVALSHA', sha1(script), 0])).toEqual(Buffer.from(script.slice(8, -1)));
  });

  it('rejects a preload that is not an array of strings', () => {
    expect(() => new RedisClient({ port: a.port, preload: [1] }))
      .toThrow('RedisClient: the "preload" option must be an array of script texts');
    expect(() => new RedisClient({ port: a.port, preload: 'return 1' })).toThrow(/"preload" option/);
  });
});
