'use strict';

// Keys whose last response could not be stored (no-store, private, Set-Cookie, a status or size
// the cache does not keep...): for a while their requests go straight to the upstream instead of
// queueing behind one leader each. Without this, a URL that is never storable is fetched one
// request at a time: every leader's followers wait for its response, find nothing stored, and
// only then go upstream themselves, while the next arrivals line up behind a new leader (what
// Varnish calls hit-for-miss). A response that can be stored clears the mark at once.
// In this process only: another gateway process learns it from its own first response.

// How long a key stays marked (Varnish keeps its hit-for-miss objects 120 s by default; a key
// whose responses become storable again is unmarked by the first one anyway).
const PASS_MS = 60000;
// At most this many keys are marked; the oldest mark goes first.
const MAX_PASSES = 10000;

class Passes {
  /** @param {{ now: () => number }} clock */
  constructor(clock) {
    this.clock = clock;
    this.until = new Map();
  }

  /** Whether requests for `key` should skip coalescing now. */
  has(key) {
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (until > this.clock.now()) return true;
    this.until.delete(key);
    return false;
  }

  /** Marks `key`: its last response was not stored. */
  mark(key) {
    this.until.delete(key);
    if (this.until.size >= MAX_PASSES) this.until.delete(this.until.keys().next().value);
    this.until.set(key, this.clock.now() + PASS_MS);
  }

  /** Unmarks `key`: a response for it was stored. */
  clear(key) {
    this.until.delete(key);
  }
}

module.exports = { Passes, PASS_MS };
