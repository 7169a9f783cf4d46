'use strict';

// Waiting in tests, with no dependency on the package: on events with a deadline, bounded polling
// where no event exists, one turn of the loop, and gates that a test opens.

/**
 * Resolves with the first `event` emitted by `emitter`, rejects after `timeoutMs`.
 * @returns {Promise<any[]>} the event's arguments
 */
function once(emitter, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, onEvent);
      reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    function onEvent(...args) {
      clearTimeout(timer);
      resolve(args);
    }
    emitter.once(event, onEvent);
  });
}

/**
 * Polls `probe` until it returns a truthy value or the deadline passes (for states that announce
 * themselves with no event, such as a key appearing in Redis through another connection).
 */
async function waitFor(probe, { timeout = 3000, interval = 10, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeout} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Lets pending microtasks, nextTicks and one turn of I/O callbacks run. */
function tick() {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise the test resolves, for handlers that must wait: { promise, open }. */
function gate() {
  let open;
  const promise = new Promise((resolve) => { open = resolve; });
  return { promise, open };
}

module.exports = { once, waitFor, tick, gate };
