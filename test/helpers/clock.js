'use strict';

// A clock the test moves by hand, for what the cache decides by its clock (lib/clock.js): when an
// entry was stored and stops being fresh, its Age, its stale windows, Expires against now, how
// long learnt vary names hold, the error-report interval and the back-off after a failed
// refresh. A test that needs one of those to end advances the clock instead of sleeping.
// Not driven by it, so still on real time: key lifetimes in Redis (PX), item lifetimes in the
// native in-process store, and timers (coalesceTimeout, handlerTimeout, lockTtl).
//
//   const clock = fakeClock();
//   const { cache } = await openCache(withClock({ redis: redis.url }, clock));
//   clock.advance(60001); // the entry stored a moment ago is now a minute and a millisecond old

// The key createCache() reads the clock from: a registered Symbol, so no options check sees it.
const kClock = Symbol.for('respcache.clock');

/**
 * @param {number} [start] epoch milliseconds; now by default, so that the stamps of entries the
 *   cache stores look like today's next to those Redis and HTTP dates carry
 * @returns {{ now(): number, advance(ms: number): number, set(ms: number): number }} advance and
 *   set return the new time
 */
function fakeClock(start = Date.now()) {
  let ms = checked(start, 'start');
  return {
    now: () => ms,
    advance(by) {
      ms += checked(by, 'advance(ms)');
      return ms;
    },
    set(at) {
      ms = checked(at, 'set(ms)');
      return ms;
    },
  };
}

function checked(value, what) {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`fakeClock ${what}: expected a finite number, got ${value}`);
  return value;
}

/** `options` for createCache() with `clock` as the cache's clock. */
function withClock(options, clock) {
  return { ...options, [kClock]: clock };
}

module.exports = { kClock, fakeClock, withClock };
