'use strict';

// ttl: 'http' routes keep a response's freshness as RFC 9111 section 4.2 has a shared cache
// reckon it: Age and Date (4.2.3), Expires minus Date (4.2.1, 5.3, the three HTTP-date forms of
// RFC 9110 5.6.7), the Last-Modified heuristic (4.2.2), and the stored Date (3.1, RFC 9110 6.6.1).
// The cache's clock is a fake one (test/helpers/t.clock.js) that only the test moves; handlers date
// their responses by it, as an upstream with a synchronised clock would.
const { clockedRoute } = require('../helpers/clocked-route');
const { lookup } = require('../helpers/internals');
const { formatHttpDate } = require('../../lib/http/http-date');

const SECOND = 1000;
const DAY = 86400 * SECOND;
// A whole second, years from the system's time: a Date the cache did not take from its clock
// (Node's own, the system's) cannot pass for one that it did.
const START = Date.UTC(2031, 0, 7, 12, 0, 0);

const t = clockedRoute({ start: START });
const route = (options, handler) => t.route({ ttl: 'http', ...options }, handler);
const get = (headers) => t.get(headers);
const verdict = async () => (await get()).headers['x-cache'];
const at = (ms) => formatHttpDate(ms);
const secondsAgo = (s) => at(t.clock.now() - s * SECOND);

// RFC 850 and asctime forms of a time (RFC 9110 5.6.7).
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
function rfc850(ms) {
  const [day, date, month, year, time] = formatHttpDate(ms).replace(',', '').split(' ');
  return `${LONG_DAYS[['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(day)]}, ${date}-${month}-${year.slice(2)} ${time} GMT`;
}
function asctime(ms) {
  const [day, date, month, year, time] = formatHttpDate(ms).replace(',', '').split(' ');
  return `${day} ${month} ${String(Number(date)).padStart(2, ' ')} ${time} ${year}`;
}

describe('RFC 9111 4.2.3: Age', () => {
  it('spends the Age a response arrives with, and sends the entry\'s current age on a HIT', async () => {
    await route({}, (req, res, n) => res.set({ 'Cache-Control': 'max-age=100', Age: '40' }).send(`v${n}`));
    expect(await verdict()).toBe('MISS');
    const entry = await lookup(t.cache, 'k');
    expect([entry.storedAt, entry.expiresAt]).toEqual([START - 40 * SECOND, START + 60 * SECOND]);
    expect((await get()).headers.age).toBe('40');
    t.clock.advance(59999);
    const late = await get();
    expect([late.headers['x-cache'], late.headers.age]).toEqual(['HIT', '99']);
    t.clock.advance(1);
    expect(await verdict()).toBe('MISS');
  });

  it('counts the time since the response\'s Date (apparent age)', async () => {
    await route({}, (req, res, n) => res.set({ 'Cache-Control': 'max-age=60', Date: secondsAgo(25) }).send(`v${n}`));
    await get();
    const hit = await get();
    expect([hit.headers['x-cache'], hit.headers.age]).toEqual(['HIT', '25']);
    t.clock.advance(35 * SECOND);
    expect(await verdict()).toBe('MISS');
  });

  it('does not store the Age it arrived with: the stored one would be sent again', async () => {
    await route({}, (req, res) => res.set({ 'Cache-Control': 'max-age=100', Age: '40' }).send('x'));
    await get();
    const { headers } = await lookup(t.cache, 'k');
    expect(headers.filter((_v, i) => i % 2 === 0)).not.toContain('age');
  });
});

describe('RFC 9111 4.2.1: Expires', () => {
  it('gives a lifetime of Expires minus Date, whatever the clock of the server that dated it', async () => {
    // An upstream whose clock is 2 minutes ahead: Expires - now would be 3 minutes.
    await route({}, (req, res, n) => res.set({ Date: at(t.clock.now() + 120 * SECOND), Expires: at(t.clock.now() + 180 * SECOND) }).send(`v${n}`));
    await get();
    t.clock.advance(59999);
    expect(await verdict()).toBe('HIT');
    t.clock.advance(1);
    expect(await verdict()).toBe('MISS');
  });

  it.each([
    ['RFC 850', rfc850],
    ['asctime', asctime],
  ])('reads the obsolete %s form of Date and Expires (RFC 9110 5.6.7)', async (_form, format) => {
    await route({}, (req, res) => res.set({ Date: format(t.clock.now() + 120 * SECOND), Expires: format(t.clock.now() + 180 * SECOND) }).send('x'));
    await get();
    expect(await lookup(t.cache, 'k')).toMatchObject({ storedAt: START, expiresAt: START + 60 * SECOND });
  });

  it.each([
    ['not an HTTP-date', '2099-01-01'],
    ['0', '0'],
    ['two different values', [at(START + DAY), at(START + 2 * DAY)]],
  ])('treats an invalid Expires (%s) as already expired (RFC 9111 5.3): stale at once, never a HIT', async (_what, value) => {
    // Stored only because Express's ETag gives it a validator (retainStale), to be revalidated.
    await route({}, (req, res, n) => res.set('Expires', value).send(`v${n}`));
    expect((await get()).text).toBe('v1');
    expect(await lookup(t.cache, 'k')).toMatchObject({ storedAt: START, expiresAt: START });
    const second = await get();
    expect([second.headers['x-cache'], second.text]).toEqual(['MISS', 'v2']);
  });

  it('lets max-age win over Expires', async () => {
    await route({}, (req, res) => res.set({ 'Cache-Control': 'max-age=30', Expires: at(t.clock.now() + DAY) }).send('x'));
    await get();
    expect(await lookup(t.cache, 'k')).toMatchObject({ expiresAt: START + 30 * SECOND });
  });
});

describe('RFC 9111 4.2.2: heuristic freshness', () => {
  it('is 10% of the time since Last-Modified by default', async () => {
    await route({}, (req, res, n) => res.set('Last-Modified', secondsAgo(5 * 86400)).send(`v${n}`));
    await get();
    t.clock.advance(43200 * SECOND - 1);
    expect(await verdict()).toBe('HIT');
    t.clock.advance(1);
    expect(await verdict()).toBe('MISS');
  });

  it('is at most a day by default', async () => {
    await route({}, (req, res) => res.set('Last-Modified', secondsAgo(365 * 86400)).send('x'));
    await get();
    expect(await lookup(t.cache, 'k')).toMatchObject({ expiresAt: START + DAY });
  });

  it('is 300 s without a Last-Modified, as before the Last-Modified rule', async () => {
    await route({}, (req, res) => res.send('x'));
    await get();
    expect(await lookup(t.cache, 'k')).toMatchObject({ storedAt: START, expiresAt: START + 300 * SECOND });
  });

  it('follows the route\'s heuristic option: fraction, maxAge and fallback', async () => {
    await route({ heuristic: { fraction: 0.5, maxAge: 600, fallback: 20 } },
      (req, res, n) => (n === 1 ? res.set('Last-Modified', secondsAgo(3600)).send('x') : res.send('y')));
    await get();
    expect(await lookup(t.cache, 'k')).toMatchObject({ expiresAt: START + 600 * SECOND });
    t.clock.advance(600 * SECOND);
    await get();
    expect(await lookup(t.cache, 'k')).toMatchObject({ expiresAt: t.clock.now() + 20 * SECOND });
  });

  it('uses only the fallback with a fraction of 0 (the lifetime every such response had before)', async () => {
    await route({ heuristic: { fraction: 0 } }, (req, res) => res.set('Last-Modified', secondsAgo(5 * 86400)).send('x'));
    await get();
    expect(await lookup(t.cache, 'k')).toMatchObject({ expiresAt: START + 300 * SECOND });
  });

  it('is not used for a status RFC 9110 15.1 does not make heuristically cacheable', async () => {
    await route({ statuses: [200, 302] }, (req, res) => res.redirect(302, '/elsewhere'));
    await get();
    expect(await lookup(t.cache, 'k')).toBeNull();
  });

  it.each([
    [{ ttl: 60, heuristic: { fraction: 0.1 } }, /applies to routes with ttl: 'http'/],
    [{ ttl: 60, retainStale: 60 }, /applies to routes with ttl: 'http'/],
    [{ ttl: 'http', heuristic: { fraction: 2 } }, /"heuristic.fraction" option to be from 0 to 1/],
    [{ ttl: 'http', heuristic: { fractoin: 0.2 } }, /did you mean "fraction"/],
    [{ ttl: 'http', heuristic: 0.1 }, /"heuristic" option to be an object/],
    [{ ttl: 'http', heuristic: { maxAge: -1 } }, /"heuristic.maxAge" option/],
    [{ ttl: 'http', retainStale: 'a day' }, /"retainStale" option to be a number of seconds/],
  ])('rejects %j naming the option', async (options, message) => {
    await route({}, (req, res) => res.send('x'));
    expect(() => t.cache.middleware(options)).toThrow(message);
  });
});

describe('RFC 9111 3.1 and RFC 9110 6.6.1: Date', () => {
  it('keeps the Date the response went out with on every HIT', async () => {
    await route({}, (req, res) => res.set('Cache-Control', 'max-age=600').send('x'));
    const miss = await get();
    expect(miss.headers.date).toBe(at(START));
    t.clock.advance(30 * SECOND);
    const hit = await get();
    expect([hit.headers['x-cache'], hit.headers.date, hit.headers.age]).toEqual(['HIT', at(START), '30']);
  });

  it('keeps it on a 304 answered from the entry (RFC 9110 15.4.5: the Date a 200 would carry)', async () => {
    await route({}, (req, res) => res.set({ 'Cache-Control': 'max-age=600', ETag: '"e1"' }).send('x'));
    await get();
    t.clock.advance(30 * SECOND);
    const notModified = await get({ 'if-none-match': '"e1"' });
    expect([notModified.status, notModified.headers['x-cache'], notModified.headers.date, notModified.headers.age])
      .toEqual([304, 'HIT', at(START), '30']);
  });

  it('keeps a Date the handler set (a proxied response\'s)', async () => {
    await route({}, (req, res) => res.set({ 'Cache-Control': 'max-age=600', Date: secondsAgo(2) }).send('x'));
    await get();
    expect((await get()).headers.date).toBe(at(START - 2 * SECOND));
  });

  it('still sends a fresh Date on HITs of a route with a numeric ttl', async () => {
    await route({ ttl: 60 }, (req, res) => res.send('x'));
    await get();
    t.clock.advance(30 * SECOND);
    expect((await get()).headers.date).not.toBe(at(START));
  });
});
