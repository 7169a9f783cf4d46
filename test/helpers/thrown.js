'use strict';

/**
 * What `fn` throws, for tests that look at the error itself (its class, name, code, message).
 * Fails the test when `fn` returns.
 * @param {() => unknown} fn
 * @returns {unknown} the thrown value
 */
function thrownBy(fn) {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, but the call returned');
}

module.exports = { thrownBy };
