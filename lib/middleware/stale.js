'use strict';

// The stale-if-error fallback of a request whose handler runs while it holds an entry inside that
// window (RFC 5861): the handler's failure is answered from the entry. Freshness rules are in
// lib/http/storability.js.
const { HandlerFailedError } = require('../errors');
const { serveHit } = require('./serve');

/**
 * Makes a finished response deaf: later calls by a handler that is still running go nowhere.
 * It also says its headers are not sent, so that an error the handler raises later takes the
 * error handlers' answering path (which now does nothing) rather than the one for an answer
 * already under way, where Express's final handler destroys the socket: that would cut off the
 * next request on the keep-alive connection.
 */
function silence(res) {
  const ignore = function ignore() { return this; };
  for (const name of ['setHeader', 'removeHeader', 'appendHeader', 'writeHead', 'flushHeaders', 'end']) res[name] = ignore;
  res.write = () => true;
  Object.defineProperty(res, 'headersSent', { configurable: true, get: () => false });
}

/**
 * A request that holds an entry inside its stale-if-error window while its handler runs. If the
 * response the handler starts has a 5xx status (its own, or the one Express's error handling
 * sends after next(err) or a throw), or nothing has started within handlerTimeout, the handler's
 * response is dropped before any of it goes out and `serve` answers from the entry instead.
 */
class StaleFallback {
  /**
   * @param {import('http').ServerResponse} res
   * @param {number|null} timeoutMs
   * @param {(reason: string) => void} serve answers from the entry; the response's own methods
   *   and the headers it had when this was made are back in place when it is called
   */
  constructor(res, timeoutMs, serve) {
    this.res = res;
    this.timeoutMs = timeoutMs;
    this.serve = serve;
    this.settled = false;
    this.timer = null;
    this.capture = null;
    this.methods = { writeHead: res.writeHead, write: res.write, end: res.end };
    this.headers = Object.entries(res.getHeaders());
  }

  /**
   * Watches the handler's response; call once the capture layer (if any) is installed, so every
   * call reaches this layer first.
   * @param {{ abort(): void } | null} capture
   */
  watch(capture) {
    const res = this.res;
    this.capture = capture;
    const inner = { writeHead: res.writeHead, write: res.write, end: res.end };
    const failing = (status) => {
      if (this.settled) return false;
      if (Number(status) >= 500) {
        this.fail(`it answered ${status}`);
        return true;
      }
      this.cancel();
      return false;
    };
    res.writeHead = function writeHead(status) {
      return failing(status) ? this : inner.writeHead.apply(this, arguments);
    };
    res.write = function write() {
      return failing(res.statusCode) ? true : inner.write.apply(this, arguments);
    };
    res.end = function end() {
      return failing(res.statusCode) ? this : inner.end.apply(this, arguments);
    };
    if (this.timeoutMs !== null) {
      this.timer = setTimeout(() => this.fail(`it did not answer within ${this.timeoutMs} ms (handlerTimeout)`), this.timeoutMs);
    }
  }

  /** The handler's response is going out (or the entry is not needed): stop watching. */
  cancel() {
    this.settled = true;
    clearTimeout(this.timer);
  }

  /** Drops what the handler did to the response and answers from the entry. */
  fail(reason) {
    if (this.settled) return;
    this.cancel();
    const res = this.res;
    if (res.headersSent || res.writableEnded) return;
    if (this.capture !== null) this.capture.abort();
    Object.assign(res, this.methods);
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    for (const [name, value] of this.headers) res.setHeader(name, value);
    res.statusMessage = undefined; // Express's error handler set one for its own status
    this.serve(reason);
    silence(res);
  }
}

/**
 * The stale-if-error fallback of a request that found `entry` expired but inside that window.
 * Requests that waited for a run that failed answer from their stale entry too, with one report
 * per failed run (r.failedJustNow holds its key until the next turn of the event loop).
 */
function staleFallback(r, req, res, entry, key) {
  return new StaleFallback(res, r.route.handlerTimeout, (reason) => {
    if (!r.failedJustNow.has(key)) {
      r.failedJustNow.add(key);
      setImmediate(() => r.failedJustNow.delete(key));
      r.report(new HandlerFailedError(`the handler for "${key}" failed: ${reason}; answered from the stale entry`));
    }
    serveHit(r, req, res, entry, key, false, 'STALE');
  });
}

module.exports = { StaleFallback, staleFallback, silence };
