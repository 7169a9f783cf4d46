'use strict';

// The raw MONITOR helper (test/helpers/monitor.js) that the round-trip tests count commands with.
const { startRedis } = require('../helpers/redis');
const { monitor, parseMonitorLine } = require('../helpers/monitor');

let redis;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { if (redis) await redis.close(); });

it('parses quoted arguments with their escapes, and the source', () => {
  expect(parseMonitorLine('1796206162.959339 [0 127.0.0.1:38490] "info"'))
    .toEqual({ time: '1796206162.959339', source: '127.0.0.1:38490', args: ['info'] });
  expect(parseMonitorLine('1.5 [3 lua] "SET" "a\\"b\\\\c" "\\x00\\xff\\r\\n" ""'))
    .toEqual({ time: '1.5', source: 'lua', args: ['SET', 'a"b\\c', '\x00\xff\r\n', ''] });
  expect(parseMonitorLine('OK')).toBeNull();
});

jest.setTimeout(10000);

it('reports every command another connection sends, in order, bytes intact, scripts\' as "lua"', async () => {
  const feed = await monitor(redis);
  const seen = [];
  const done = new Promise((resolve) => {
    feed.on('monitor', (time, args, source) => {
      seen.push({ args, lua: source === 'lua' });
      if (args[0].toLowerCase() === 'echo' && args[1] === 'end') resolve();
    });
  });
  const client = redis.client();
  await client.set('k "1"', Buffer.from([0, 200, 10]));
  await client.eval("return redis.call('GET', KEYS[1])", 1, 'k "1"');
  await client.echo('end');
  await done;
  feed.disconnect();
  // (ioredis's ready check, INFO, may come first)
  expect(seen.filter((s) => s.args[0] !== 'info').map((s) => [s.lua, ...s.args])).toEqual([
    [false, 'set', 'k "1"', '\x00\xc8\n'],
    [false, 'eval', "return redis.call('GET', KEYS[1])", '1', 'k "1"'],
    [true, 'GET', 'k "1"'],
    [false, 'echo', 'end'],
  ]);
});
