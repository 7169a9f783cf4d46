'use strict';

// Serving entries after they expired (RFC 9111 section 4.2.4, RFC 5861). An entry is kept in
// Redis for its ttl plus the longer of its two stale windows; its freshness is still judged by its
// expiresAt. After expiry, within stale-while-revalidate it is served at once while a background
// refresh runs (lib/refresh.js); within stale-if-error the handler runs and the entry is served
// only if the handler fails (StaleFallback below); after both, it is a MISS.
const { cacheControlArguments } = require('./policy');

const NO_WINDOWS = Object.freeze({ whileRevalidateMs: 0, ifErrorMs: 0 });
const MAX_WINDOW_MS = 10 * 365 * 86400000;

/** A delta-seconds directive argument as milliseconds (0 when absent or malformed). */
function directiveMs(value) {
  if (value === undefined || !/^\d+$/.test(value)) return 0;
  return Math.min(Number(value) * 1000, MAX_WINDOW_MS);
}

/**
 * The stale windows of a response, in milliseconds: the route's staleWhileRevalidate /
 * staleIfError when it sets them, else the response's own stale-while-revalidate /
 * stale-if-error directives, else 0. Both are 0 when the response forbids being served stale:
 * must-revalidate, proxy-revalidate or no-cache, or s-maxage (which implies proxy-revalidate in
 * a shared cache, RFC 9111 section 5.2.2.10) unless the same response grants a stale window.
 * @param {string|string[]|undefined} cacheControl the response's Cache-Control value(s)
 * @param {{ staleWhileRevalidateMs: number|null, staleIfErrorMs: number|null }} route
 * @returns {{ whileRevalidateMs: number, ifErrorMs: number }}
 */
function staleWindows(cacheControl, route) {
  const args = cacheControlArguments(cacheControl);
  if (args.has('must-revalidate') || args.has('proxy-revalidate') || args.has('no-cache')) return NO_WINDOWS;
  // Only a window of at least a second grants one ("stale-if-error=0" grants nothing).
  if (args.has('s-maxage') && !(directiveMs(args.get('stale-while-revalidate')) > 0)
    && !(directiveMs(args.get('stale-if-error')) > 0)) return NO_WINDOWS;
  return {
    whileRevalidateMs: route.staleWhileRevalidateMs !== null
      ? route.staleWhileRevalidateMs : directiveMs(args.get('stale-while-revalidate')),
    ifErrorMs: route.staleIfErrorMs !== null ? route.staleIfErrorMs : directiveMs(args.get('stale-if-error')),
  };
}

/** The Cache-Control values of flat stored headers. */
function storedCacheControl(headers) {
  const values = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'cache-control') values.push(headers[i + 1]);
  return values;
}

/**
 * Where an entry stands at `now`: 'fresh' (before expiresAt), 'revalidate' (inside its
 * stale-while-revalidate window), 'if-error' (inside its stale-if-error window) or 'expired'.
 * @param {{ headers: string[], expiresAt: number }} entry
 * @param {{ staleWhileRevalidateMs: number|null, staleIfErrorMs: number|null }} route
 * @param {number} now
 */
function staleState(entry, route, now) {
  if (entry.expiresAt > now) return 'fresh';
  const windows = staleWindows(storedCacheControl(entry.headers), route);
  const late = now - entry.expiresAt;
  if (late < windows.whileRevalidateMs) return 'revalidate';
  if (late < windows.ifErrorMs) return 'if-error';
  return 'expired';
}

/**
 * How long Redis keeps an entry: its freshness lifetime plus the longer stale window.
 * @param {number} ttlMs
 * @param {import('http').ServerResponse} res the response being stored
 * @param {object} route
 */
function retentionMs(ttlMs, res, route) {
  const windows = staleWindows(res.getHeader('cache-control'), route);
  return ttlMs + Math.max(windows.whileRevalidateMs, windows.ifErrorMs);
}

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

module.exports = { staleWindows, staleState, retentionMs, StaleFallback };
