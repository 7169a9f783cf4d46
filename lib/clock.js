'use strict';

// The clock of freshness decisions: when an entry was stored, when it stops being fresh, its Age,
// its stale windows, the error-report interval and the refresh back-off. Tests inject their own
// with createCache({ [kClock]: { now() { return ms; } } }): a Symbol-keyed option, so it is not a
// documented option and no options check sees it. Timers (coalesceTimeout, handlerTimeout, lock
// and key lifetimes in Redis and in the in-process store) run on real time.
const kClock = Symbol.for('respcache.clock');

const systemClock = Object.freeze({ now: () => Date.now() });

/** The clock given to createCache(), or the system's. */
function clockOf(options) {
  const clock = options !== null && typeof options === 'object' ? options[kClock] : undefined;
  if (clock === undefined) return systemClock;
  if (clock === null || typeof clock.now !== 'function') throw new TypeError('Expected the clock to have a now() method');
  return clock;
}

module.exports = { kClock, clockOf, systemClock };
