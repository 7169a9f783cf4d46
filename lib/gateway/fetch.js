'use strict';

// cache.fetch(url, init): a cached, coalesced HTTP client for service-to-service calls. Each call
// is one exchange through the same shared cache as cache.proxy() (lib/gateway/engine.js: RFC 9111
// freshness and revalidation, Vary, coalescing in this process and across processes, the same
// entries and invalidation), and resolves with a WHATWG Response carrying X-Cache, its body decoded
// as fetch decodes it (the stored entry keeps the Content-Encoding the origin sent).
//
// The engine is bound to one upstream origin (its connection pool), so this file keeps one
// SharedCache per origin, created on first use; a call's ttl and tags go with its request, and
// apply only to what that exchange stores (a MISS, a revalidation): a call answered from the
// cache or from a concurrent call's fetch leaves the entry as it is.
const { Readable, Transform, pipeline } = require('stream');
const zlib = require('zlib');
const { proxyOptions } = require('./options');
const { SharedCache } = require('./engine');
const { isPlainObject, rejectUnknown } = require('../options');
const { checkTags } = require('../stores/contract');
const { UpstreamTimeoutError, UpstreamBodyError } = require('../errors');

const FETCH_OPTIONS = ['method', 'headers', 'body', 'signal', 'ttl', 'tags', 'timeout'];
const MAX_SECONDS = 10 * 365 * 86400;
const MAX_MS = 2147483647;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// WHATWG fetch normalizes these method names to upper case (and only these).
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

const where = 'cache.fetch()';

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'number' ? String(value) : typeof value;
}

function optionError(name, expected, value) {
  return new TypeError(`Expected the "${name}" option of ${where} to be ${expected}, got ${describe(value)}`);
}

/** An absolute http(s) URL without credentials, as a string. */
function targetUrl(url) {
  let parsed = null;
  try {
    if (typeof url === 'string' || url instanceof URL) parsed = new URL(String(url));
  } catch {
    parsed = null;
  }
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    || parsed.username !== '' || parsed.password !== '') {
    throw new TypeError(`Expected the "url" of ${where} to be an absolute http: or https: URL without credentials, got `
      + `${typeof url === 'string' ? JSON.stringify(url) : describe(url)}`);
  }
  parsed.hash = '';
  return parsed;
}

/** Request headers as an object with lowercased names (repeated fields joined, Cookie with '; '). */
function headerObject(headers) {
  const out = {};
  if (headers === undefined || headers === null) return out;
  let pairs;
  if (headers instanceof Headers) pairs = [...headers];
  else if (Array.isArray(headers)) pairs = headers;
  else if (isPlainObject(headers)) pairs = Object.entries(headers);
  else throw optionError('headers', 'an object, a Headers or an array of [name, value] pairs', headers);
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || !TOKEN.test(pair[0])) {
      throw optionError('headers', 'an object, a Headers or an array of [name, value] pairs with field names', headers);
    }
    const name = pair[0].toLowerCase();
    const value = pair[1];
    if (value === undefined) continue;
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || /[\r\n\0]/.test(text)) {
      throw new TypeError(`Expected the "headers" option of ${where} to hold string values without CR, LF or NUL (field "${name}")`);
    }
    out[name] = out[name] === undefined ? text.trim() : `${out[name]}${name === 'cookie' ? '; ' : ', '}${text.trim()}`;
  }
  return out;
}

function requestBody(body, method) {
  if (body === undefined || body === null) return null;
  if (method === 'GET' || method === 'HEAD') throw new TypeError(`Expected no "body" option in ${where} for a ${method} request`);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw optionError('body', 'a string, a Buffer, a Uint8Array or null', body);
}

/**
 * Validates and interprets the init of cache.fetch(url, init) once, before anything is sent.
 * @param {string|URL} url
 * @param {object} [init]
 * @returns {{ url: URL, method: string, headers: object, body: Buffer|null, signal: AbortSignal|null,
 *   ttl: number|null, tags: string[], timeout: number|null }}
 * @throws {TypeError} naming the option
 */
function fetchInit(url, init) {
  const target = targetUrl(url);
  if (init === undefined || init === null) init = {};
  if (!isPlainObject(init)) throw new TypeError(`Expected the init of ${where} to be a plain object`);
  rejectUnknown(init, FETCH_OPTIONS, where);
  let method = 'GET';
  if (init.method !== undefined) {
    if (typeof init.method !== 'string' || !TOKEN.test(init.method)) throw optionError('method', 'an HTTP method name', init.method);
    method = NORMALIZED_METHODS.has(init.method.toUpperCase()) ? init.method.toUpperCase() : init.method;
    if (['CONNECT', 'TRACE', 'TRACK'].includes(method.toUpperCase())) throw optionError('method', 'a method other than CONNECT, TRACE or TRACK', method);
  }
  const signal = init.signal === undefined || init.signal === null ? null : init.signal;
  if (signal !== null && !(signal instanceof AbortSignal)) throw optionError('signal', 'an AbortSignal', signal);
  let ttl = null;
  if (init.ttl !== undefined && init.ttl !== null) {
    if (typeof init.ttl !== 'number' || !(init.ttl > 0) || init.ttl > MAX_SECONDS) {
      throw optionError('ttl', `a positive number of seconds (at most ${MAX_SECONDS}), or null for HTTP freshness`, init.ttl);
    }
    ttl = init.ttl;
  }
  let tags = [];
  if (init.tags !== undefined && init.tags !== null) {
    try {
      tags = checkTags(init.tags, `the "tags" option of ${where}`);
    } catch (err) {
      throw new TypeError(err.message);
    }
  }
  let timeout = null;
  if (init.timeout !== undefined && init.timeout !== null) {
    if (!Number.isInteger(init.timeout) || init.timeout < 1 || init.timeout > MAX_MS) {
      throw optionError('timeout', `a whole number of milliseconds from 1 to ${MAX_MS}`, init.timeout);
    }
    timeout = init.timeout;
  }
  return { url: target, method, headers: headerObject(init.headers), body: requestBody(init.body, method), signal, ttl, tags, timeout };
}

/**
 * One signal for the caller's signal and the timeout. `timedOut()` says which one fired; `done()`
 * drops the timer and the listener (the exchange and its body are over).
 * @param {AbortSignal|null} signal
 * @param {number|null} timeout ms
 * @param {string} [what] the call, for the UpstreamTimeoutError's message
 */
function callSignal(signal, timeout, what = where) {
  if (signal === null && timeout === null) return { signal: undefined, timedOut: () => false, done: () => {} };
  const controller = new AbortController();
  let fired = false;
  const onAbort = () => controller.abort(signal.reason);
  if (signal !== null) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  const timer = timeout === null ? null : setTimeout(() => {
    fired = true;
    controller.abort(new UpstreamTimeoutError(`${what} had no complete response within ${timeout} ms`));
  }, timeout);
  if (timer !== null) timer.unref();
  return {
    signal: controller.signal,
    timedOut: () => fired,
    done: () => {
      if (timer !== null) clearTimeout(timer);
      if (signal !== null) signal.removeEventListener('abort', onAbort);
    },
  };
}

/** Headers as a plain object (lowercased names; Set-Cookie as an array), every name an own property. */
function plainHeaders(headers) {
  const out = {};
  const cookies = headers.getSetCookie();
  for (const [name, value] of headers) setOwn(out, name, name === 'set-cookie' ? cookies : value);
  return out;
}

/** obj[name] = value as an own data property, whatever the name ('__proto__' included). */
function setOwn(obj, name, value) {
  Object.defineProperty(obj, name, { value, enumerable: true, writable: true, configurable: true });
}

// Decoding as WHATWG fetch does in Node (undici): lenient about a truncated end, as browsers and
// cURL are (Z_SYNC_FLUSH).
const ZLIB_LENIENT = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const BROTLI_LENIENT = { flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };

/** "deflate" is the zlib format (RFC 9110 8.4.1.2), but servers send raw DEFLATE too: told apart by the first byte. */
class Inflate extends Transform {
  _transform(chunk, encoding, callback) {
    if (this.inner === undefined) {
      if (chunk.length === 0) return callback();
      this.inner = (chunk[0] & 0x0f) === 0x08 ? zlib.createInflate(ZLIB_LENIENT) : zlib.createInflateRaw(ZLIB_LENIENT);
      this.inner.on('data', (data) => this.push(data));
      this.inner.on('error', (err) => this.destroy(err));
    }
    return this.inner.write(chunk, callback);
  }

  _flush(callback) {
    if (this.inner === undefined) return callback();
    this.inner.once('end', () => callback());
    return this.inner.end();
  }

  _destroy(err, callback) {
    if (this.inner !== undefined) this.inner.destroy();
    callback(err);
  }
}

const DECODERS = {
  gzip: () => zlib.createGunzip(ZLIB_LENIENT),
  'x-gzip': () => zlib.createGunzip(ZLIB_LENIENT),
  deflate: () => new Inflate(),
  br: () => zlib.createBrotliDecompress(BROTLI_LENIENT),
};

/**
 * The decoders that undo a Content-Encoding list, last applied first; none when it names a
 * coding not in DECODERS (the body is then left as it is, as fetch leaves it).
 */
function decodersFor(contentEncoding) {
  if (contentEncoding === null) return [];
  const codings = contentEncoding.toLowerCase().split(',').map((coding) => coding.trim()).reverse();
  if (!codings.every((coding) => Object.hasOwn(DECODERS, coding))) return [];
  return codings.map((coding) => DECODERS[coding]());
}

/**
 * `source` through `decoders`, as one stream. A decoder's failure errors it with an
 * UpstreamBodyError (from `bodyError`); the source's own (the timeout, a reset) as it came.
 */
function decoded(source, decoders, bodyError) {
  // Whichever fails first decides: pipeline then destroys the others (the source too, while the
  // body still streams), and they report that same error.
  let sourceFailed = false;
  let decoderError = null;
  source.once('error', () => { sourceFailed = true; });
  for (const decoder of decoders) {
    decoder.once('error', (err) => { if (!sourceFailed && decoderError === null) decoderError = err; });
  }
  const last = pipeline(source, ...decoders, () => {});
  return Readable.from((async function* decode() {
    try {
      yield* last;
    } catch (err) {
      throw decoderError !== null ? bodyError(decoderError) : err;
    }
  })(), { objectMode: false });
}

/**
 * The engine's answer as a WHATWG Response (X-Cache added; no body for HEAD and null-body
 * statuses). The body is decoded as fetch decodes it (gzip, x-gzip, deflate, br); the headers,
 * Content-Encoding included, are left as they are, as fetch leaves them. The stored entry stays
 * encoded: cache.proxy() serves the same entries.
 */
function toResponse(answer, method, url, onBodyEnd) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      try {
        headers.append(name, String(one));
      } catch {
        // a field value Headers cannot hold (not a ByteString): left out, as fetch would fail on it
      }
    }
  }
  headers.set('x-cache', answer.cacheStatus);
  let body = answer.body;
  if (method === 'HEAD' || NULL_BODY_STATUSES.has(answer.status)) {
    if (!Buffer.isBuffer(body)) body.resume();
    body = null;
    onBodyEnd();
  } else {
    const decoders = decodersFor(headers.get('content-encoding'));
    if (Buffer.isBuffer(body)) onBodyEnd();
    else body.once('close', onBodyEnd);
    if (decoders.length > 0) {
      const coding = headers.get('content-encoding');
      body = decoded(Buffer.isBuffer(body) ? Readable.from([body]) : body, decoders, (err) => new UpstreamBodyError(
        `the body of ${url} does not decode as its Content-Encoding "${coding}" says: ${err.message}`,
        { status: answer.status, headers: plainHeaders(headers) }, { cause: err }));
    }
    if (!Buffer.isBuffer(body)) body = Readable.toWeb(body);
  }
  const response = new Response(body, { status: answer.status, headers });
  Object.defineProperty(response, 'url', { value: url, enumerable: true });
  return response;
}

class Fetcher {
  /** @param {import('../cache').Cache} cache */
  constructor(cache) {
    this.cache = cache;
    this.engines = new Map(); // origin -> SharedCache
  }

  engineFor(origin) {
    let engine = this.engines.get(origin);
    if (engine === undefined) {
      engine = new SharedCache(this.cache, proxyOptions(origin, {}, { client: true }));
      this.engines.set(origin, engine);
    }
    return engine;
  }

  /**
   * One call of cache.fetch(). `init.ttl` and `init.tags` apply only to the response this call
   * stores (a MISS, or a revalidation that refreshes the entry); a HIT, or an answer from a
   * concurrent call's fetch, leaves the entry with the lifetime and tags it was stored with.
   * @param {string|URL} url
   * @param {object} [init] method, headers, body, signal, ttl, tags, timeout
   * @returns {Promise<Response>} its body decoded from gzip, x-gzip, deflate and br (a body that
   *   does not decode errors with UpstreamBodyError); its headers as the origin sent them
   */
  async fetch(url, init) {
    const call = fetchInit(url, init);
    if (call.signal !== null && call.signal.aborted) throw call.signal.reason;
    const engine = this.engineFor(call.url.origin);
    const guard = callSignal(call.signal, call.timeout);
    const href = call.url.href;
    const request = {
      method: call.method, url: href, headers: call.headers, body: call.body, signal: guard.signal,
      paths: [], ttl: call.ttl, tags: call.tags,
    };
    let answer;
    try {
      answer = await engine.handle(request);
    } catch (err) {
      guard.done();
      if (guard.timedOut()) throw guard.signal.reason;
      if (call.signal !== null && call.signal.aborted) throw call.signal.reason;
      throw err;
    }
    return toResponse(answer, call.method, href, guard.done);
  }

  /** Closes the upstream pools. */
  close() {
    const engines = [...this.engines.values()];
    this.engines.clear();
    return Promise.all(engines.map((engine) => engine.close())).then(() => undefined);
  }
}

module.exports = { Fetcher, fetchInit, callSignal, plainHeaders, setOwn, FETCH_OPTIONS };
