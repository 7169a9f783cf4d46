'use strict';

// One shared suite over Express 4 and Express 5: the ways a handler can produce a body, HEAD,
// query canonicalisation, what a HIT looks like on the wire, app routes and mounted routers.
const { Readable } = require('stream');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches } = require('../helpers/cache');

const frameworks = [
  ['Express 4', require('express4')],
  ['Express 5', require('express')],
];

const ALL_BYTES = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));

let redis;
let cache;

beforeAll(async () => {
  redis = await startRedis();
  ({ cache } = await openCache({ redis: redis.url, commandTimeout: 1000 }));
});

afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});

describe.each(frameworks)('with %s', (_name, express) => {
  let http;
  let calls;

  beforeEach(async () => {
    await redis.client().flushall();
    calls = 0;
  });

  afterEach(async () => {
    if (http) await http.close();
    http = null;
  });

  /** Serves app.get(path, cache.middleware(options), handler) and counts handler runs. */
  async function route(handler, options = {}, path = '/r') {
    const app = express();
    app.get(path, cache.middleware(options), (req, res, next) => {
      calls++;
      handler(req, res, next);
    });
    http = await serve(app);
    return http;
  }

  /** A MISS then a HIT of the same path; asserts the handler ran once and bodies match. */
  async function missThenHit(path = '/r', opts) {
    const miss = await http.get(path, opts);
    const hit = await http.get(path, opts);
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.status).toBe(200);
    expect(calls).toBe(1);
    expect(hit.body.equals(miss.body)).toBe(true);
    return { miss, hit };
  }

  describe('when the handler uses res.json', () => {
    it('serves the same JSON bytes and Content-Type from the cache', async () => {
      await route((req, res) => res.json({ id: 1, name: 'Ünïcode ✓', list: [1, 2, 3] }));
      const { miss, hit } = await missThenHit();
      expect(hit.text).toBe('{"id":1,"name":"Ünïcode ✓","list":[1,2,3]}');
      expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(hit.headers['content-type']).toBe(miss.headers['content-type']);
      expect(hit.headers['content-length']).toBe(String(hit.body.length));
    });
  });

  describe('when the handler uses res.send with a string', () => {
    it('serves the same text from the cache', async () => {
      await route((req, res) => res.send('<p>hello</p>'));
      const { hit } = await missThenHit();
      expect(hit.text).toBe('<p>hello</p>');
      expect(hit.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(hit.headers['content-length']).toBe('12');
    });
  });

  describe('when the handler uses res.send with a Buffer', () => {
    it('serves the same bytes from the cache', async () => {
      await route((req, res) => res.send(Buffer.from('raw bytes\n')));
      const { hit } = await missThenHit();
      expect(hit.text).toBe('raw bytes\n');
      expect(hit.headers['content-type']).toBe('application/octet-stream');
    });
  });

  describe('when the handler uses res.send with an object', () => {
    it('serves the same JSON from the cache', async () => {
      await route((req, res) => res.send({ ok: true }));
      const { hit } = await missThenHit();
      expect(hit.text).toBe('{"ok":true}');
      expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
    });
  });

  describe('when the handler uses res.write and res.end', () => {
    it('serves the concatenated chunks with a Content-Length and no chunked encoding', async () => {
      await route((req, res) => {
        res.setHeader('Content-Type', 'text/plain');
        res.write('one,');
        res.write(Buffer.from('two,'));
        setImmediate(() => res.end('three'));
      });
      const { miss, hit } = await missThenHit();
      expect(miss.text).toBe('one,two,three');
      expect(miss.headers['transfer-encoding']).toBe('chunked');
      expect(hit.text).toBe('one,two,three');
      expect(hit.headers['content-length']).toBe('13');
      expect(hit.headers['transfer-encoding']).toBeUndefined();
    });
  });

  describe('when the handler pipes a stream', () => {
    it('serves the streamed bytes from the cache', async () => {
      const chunks = ['alpha-', 'beta-', Buffer.from([0, 1, 2, 255]), '-gamma'];
      await route((req, res) => {
        res.type('application/octet-stream');
        Readable.from(chunks.map((c) => Buffer.from(c))).pipe(res);
      });
      const { miss, hit } = await missThenHit();
      const expected = Buffer.concat(chunks.map((c) => Buffer.from(c)));
      expect(miss.body.equals(expected)).toBe(true);
      expect(hit.body.equals(expected)).toBe(true);
      expect(hit.headers['content-length']).toBe(String(expected.length));
    });
  });

  describe('when the body holds every byte value', () => {
    it('stores and serves it byte for byte', async () => {
      await route((req, res) => res.type('application/octet-stream').send(ALL_BYTES));
      const { miss, hit } = await missThenHit();
      expect(miss.body.equals(ALL_BYTES)).toBe(true);
      expect(hit.body.equals(ALL_BYTES)).toBe(true);
      expect(hit.headers['content-length']).toBe('1024');
    });
  });

  describe('when a HEAD request finds a GET entry', () => {
    it('answers HIT with the headers only and the GET body length', async () => {
      await route((req, res) => res.type('text/plain').send('twelve bytes'));
      const get = await http.get('/r');
      expect(get.headers['x-cache']).toBe('MISS');
      const head = await http.head('/r');
      expect(head.status).toBe(200);
      expect(head.headers['x-cache']).toBe('HIT');
      expect(head.headers['content-length']).toBe('12');
      expect(head.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(head.body.length).toBe(0);
      expect(calls).toBe(1);
      // The connection is still usable after the bodiless answer.
      const again = await http.get('/r');
      expect(again.headers['x-cache']).toBe('HIT');
      expect(again.text).toBe('twelve bytes');
    });
  });

  describe('when a HEAD request misses', () => {
    it('runs the handler and stores nothing', async () => {
      await route((req, res) => res.type('text/plain').send('from handler'));
      const head = await http.head('/r');
      expect(head.headers['x-cache']).toBe('MISS');
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(calls).toBe(1);
      const get = await http.get('/r');
      expect(get.headers['x-cache']).toBe('MISS');
      expect(get.text).toBe('from handler');
      expect(calls).toBe(2);
      const head2 = await http.head('/r');
      expect(head2.headers['x-cache']).toBe('HIT');
      expect(head2.headers['content-length']).toBe('12');
      expect(calls).toBe(2);
    });
  });

  describe('when the query has the same parameters in another order', () => {
    it('hits the entry stored for the first order', async () => {
      await route((req, res) => res.send(`a=${req.query.a} b=${req.query.b}`));
      const first = await http.get('/r?a=1&b=2');
      const second = await http.get('/r?b=2&a=1');
      expect(first.headers['x-cache']).toBe('MISS');
      expect(second.headers['x-cache']).toBe('HIT');
      expect(second.text).toBe('a=1 b=2');
      expect(calls).toBe(1);
    });

    it('does not share an entry when a value differs', async () => {
      await route((req, res) => res.send(`a=${req.query.a}`));
      await http.get('/r?a=1');
      const other = await http.get('/r?a=2');
      expect(other.headers['x-cache']).toBe('MISS');
      expect(other.text).toBe('a=2');
      expect(calls).toBe(2);
    });
  });

  describe('when the response is a HIT', () => {
    it('carries the stored status and headers, a correct Content-Length and no stale hop-by-hop headers', async () => {
      await route((req, res) => {
        res.status(203);
        res.set('X-Custom', 'kept');
        res.set('Keep-Alive', 'timeout=99');
        res.type('text/plain');
        res.write('partial ');
        res.end('body');
      }, { statuses: [203] });
      const miss = await http.get('/r');
      expect(miss.status).toBe(203);
      expect(miss.headers['x-cache']).toBe('MISS');
      const hit = await http.get('/r');
      expect(hit.status).toBe(203);
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(hit.headers['x-custom']).toBe('kept');
      expect(hit.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(hit.text).toBe('partial body');
      expect(hit.headers['content-length']).toBe('12');
      expect(hit.headers['transfer-encoding']).toBeUndefined();
      expect(hit.headers['keep-alive']).not.toBe('timeout=99');
      const names = hit.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      expect(names.filter((n) => n === 'content-length')).toHaveLength(1);
      expect(names.filter((n) => n === 'x-cache')).toHaveLength(1);
      expect(names.filter((n) => n === 'content-type')).toHaveLength(1);
      expect(calls).toBe(1);
    });

    it('keeps the ETag the handler produced', async () => {
      await route((req, res) => res.send('etag me'));
      const { miss, hit } = await missThenHit();
      expect(miss.headers.etag).toMatch(/^W\/"/);
      expect(hit.headers.etag).toBe(miss.headers.etag);
    });

    it('serves several requests over one keep-alive connection', async () => {
      await route((req, res) => res.json({ n: 1 }));
      const replies = [];
      for (let i = 0; i < 6; i++) replies.push(await http.get('/r'));
      expect(replies.map((r) => r.headers['x-cache'])).toEqual(['MISS', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT']);
      expect(replies.every((r) => r.text === '{"n":1}')).toBe(true);
      expect(replies.slice(1).every((r) => r.reusedSocket)).toBe(true);
      expect(http.connections).toBe(1);
      expect(calls).toBe(1);
    });

    it('emits "finish" for middleware that runs before the cache', async () => {
      const app = express();
      const finished = [];
      let onFinish = null;
      app.use((req, res, next) => {
        res.on('finish', () => {
          finished.push(req.url);
          if (onFinish) onFinish();
        });
        next();
      });
      app.get('/r', cache.middleware(), (req, res) => { calls++; res.send('x'); });
      http = await serve(app);
      const firstDone = new Promise((r) => { onFinish = r; });
      await http.get('/r');
      await firstDone;
      const secondDone = new Promise((r) => { onFinish = r; });
      const hit = await http.get('/r');
      await secondDone;
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(finished).toEqual(['/r', '/r']);
      expect(calls).toBe(1);
    });

    it('lets later requests on the same app run normally', async () => {
      const app = express();
      app.get('/r', cache.middleware(), (req, res) => { calls++; res.send('cached'); });
      app.get('/plain', (req, res) => res.send('plain'));
      http = await serve(app);
      await http.get('/r');
      await http.get('/r');
      const plain = await http.get('/plain');
      expect(plain.text).toBe('plain');
      expect(plain.headers['x-cache']).toBeUndefined();
    });
  });

  describe('when many requests for a new key arrive at once', () => {
    it('answers every one of them with the handler body', async () => {
      const app = express();
      app.get('/r', cache.middleware(), (req, res) => { calls++; setTimeout(() => res.send('slow'), 20); });
      http = await serve(app);
      const replies = await Promise.all(Array.from({ length: 10 }, () => http.get('/r', { agent: false })));
      expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(replies.every((r) => r.text === 'slow')).toBe(true);
      expect(replies.every((r) => ['MISS', 'HIT'].includes(r.headers['x-cache']))).toBe(true);
      expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
    });
  });

  describe('when the route is on a mounted router', () => {
    it('keys by the full mounted path, so the same sub-path under two mounts does not share', async () => {
      const app = express();
      for (const version of ['v1', 'v2']) {
        const router = express.Router();
        router.get('/items', cache.middleware({ exposeKey: true }), (req, res) => {
          calls++;
          res.json({ version, baseUrl: req.baseUrl });
        });
        app.use(`/${version}`, router);
      }
      http = await serve(app);
      const v1 = await http.get('/v1/items');
      const v2 = await http.get('/v2/items');
      expect(v1.headers['x-cache']).toBe('MISS');
      expect(v2.headers['x-cache']).toBe('MISS');
      expect(v1.headers['x-cache-key']).not.toBe(v2.headers['x-cache-key']);
      const v1hit = await http.get('/v1/items');
      const v2hit = await http.get('/v2/items');
      expect(v1hit.headers['x-cache']).toBe('HIT');
      expect(v1hit.text).toBe('{"version":"v1","baseUrl":"/v1"}');
      expect(v2hit.headers['x-cache']).toBe('HIT');
      expect(v2hit.text).toBe('{"version":"v2","baseUrl":"/v2"}');
      expect(calls).toBe(2);
    });

    it('works as router-level middleware for every route of the router', async () => {
      const app = express();
      const router = express.Router();
      router.use(cache.middleware());
      router.get('/a', (req, res) => { calls++; res.send('a'); });
      router.get('/b', (req, res) => { calls++; res.send('b'); });
      app.use('/mounted', router);
      http = await serve(app);
      expect((await http.get('/mounted/a')).headers['x-cache']).toBe('MISS');
      expect((await http.get('/mounted/b')).headers['x-cache']).toBe('MISS');
      const a = await http.get('/mounted/a');
      const b = await http.get('/mounted/b');
      expect([a.headers['x-cache'], a.text]).toEqual(['HIT', 'a']);
      expect([b.headers['x-cache'], b.text]).toEqual(['HIT', 'b']);
      expect(calls).toBe(2);
    });
  });

  describe('when the route is on the app itself', () => {
    it('caches the route parameters path by path', async () => {
      await route((req, res) => res.send(`user ${req.params.id}`), {}, '/users/:id');
      expect((await http.get('/users/1')).text).toBe('user 1');
      expect((await http.get('/users/2')).text).toBe('user 2');
      const hit1 = await http.get('/users/1');
      expect([hit1.headers['x-cache'], hit1.text]).toEqual(['HIT', 'user 1']);
      expect(calls).toBe(2);
    });
  });
});
