'use strict';

// cache.proxy(upstream, options): a request listener that is also Express middleware. It turns
// the client's request into an exchange for the shared cache (lib/gateway/engine.js): the
// upstream URL (origin + the upstream's path + the request's target relative to the mount point,
// as sent: RFC 9110 7.7 lets an intermediary change the target only as forwarding needs), end-to-
// end headers with Via and X-Forwarded-*, the body as a stream; then writes the answer with Via
// and X-Cache, after the upstream's interim responses (lib/gateway/interim.js). A target it
// cannot forward is answered 400, an upstream that fails 502, one that times out 504.
const debug = require('debug')('respcache');
const { pipeline } = require('stream');
const { proxyOptions } = require('./options');
const { SharedCache } = require('./engine');
const { forwardHeaders } = require('./upstream');
const { interimRelay } = require('./interim');
const { requestPaths } = require('../http/paths');
const { UpstreamError, UpstreamTimeoutError } = require('../errors');
const { formatHttpDate } = require('../http/http-date');

const ABSOLUTE_FORM = /^([a-z][a-z0-9+.-]*):\/\/[^/?#]*/i;
// What undici sends in a request line (and Node's parser accepts in one).
const SENDABLE = /^[\u0021-\u00ff]*$/;

/**
 * The path and query of a request target as sent: origin-form as it is; absolute-form (http or
 * https) after its authority, with the "/" RFC 9112 3.2.1 puts in an empty path; null for what
 * no origin-form can carry ("*", another scheme).
 * @param {string} target
 * @returns {string|null}
 */
function pathAndQuery(target) {
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute === null) return target.startsWith('/') ? target : null;
  const scheme = absolute[1].toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return null;
  const rest = target.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/**
 * Whether a path holds a dot segment ("." or "..", also percent-encoded, between "/", "\\" or an
 * encoded "/" or "\\"). The upstream would resolve it (RFC 3986 5.2.4) after the gateway chose
 * the mount, the base path and the cache key: "/public/../private/x" through a proxy mounted at
 * /public would reach the upstream's /private/x, past whatever guards the /private mount. A
 * segment's path parameters (from ";", or "%3b", on) are left out first: Tomcat and Spring read
 * "..;x=1" and "..;" as "..".
 */
function hasDotSegment(path) {
  return path.split(/\/|\\|%2f|%5c/i).some((segment) => {
    const decoded = segment.split(/;|%3b/i, 1)[0].replace(/%2e/gi, '.');
    return decoded === '.' || decoded === '..';
  });
}

/**
 * The upstream request target: the upstream's base path, then the request's target below the
 * mount point, as sent, with a "/" in front only when the two leave none. Under Express that is
 * req.url (which earlier middleware may have rewritten, on purpose) less the "/" Express puts in
 * front when the mount path took the whole path: mounted at /orders, "/orders?x" is routed with
 * req.url "/?x", which would become another URL (and another cache key) than the "/orders?x" sent.
 * A target with a dot segment is not forwarded either: clients remove them (RFC 3986 5.2.4), and
 * forwarding one would let a client climb out of the mount or the base path.
 * @returns {string|null} null when the target cannot be forwarded (answered 400)
 */
function targetPath(req, basePath) {
  let rest = typeof req.url === 'string' ? pathAndQuery(req.url) : null;
  if (rest === null || !SENDABLE.test(rest) || hasDotSegment(rest.split('?', 1)[0])) return null;
  if (typeof req.baseUrl === 'string' && req.baseUrl !== '' && typeof req.originalUrl === 'string'
    && pathAndQuery(req.originalUrl) === req.baseUrl + rest.slice(1)) {
    rest = rest.slice(1);
  }
  const target = basePath + rest;
  return target.startsWith('/') ? target : `/${target}`;
}

/** Whether the client sends a body (RFC 9112 6.3: Transfer-Encoding, or a non-zero Content-Length). */
function hasBody(req) {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function writeHead(res, answer, o) {
  res.statusCode = answer.status;
  for (const name of Object.keys(answer.headers)) {
    const value = answer.headers[name];
    if (value === undefined) continue;
    try {
      res.setHeader(name, value);
    } catch (err) {
      debug('gateway: dropping the response field %s: %s', name, err.message);
    }
  }
  if (o.via !== null) {
    const via = res.getHeader('via');
    res.setHeader('Via', via === undefined ? o.via : `${via}, ${o.via}`);
  }
  res.setHeader('X-Cache', answer.cacheStatus);
}

function send(req, res, answer, o) {
  if (res.destroyed) {
    if (!Buffer.isBuffer(answer.body)) answer.body.destroy();
    return;
  }
  writeHead(res, answer, o);
  if (Buffer.isBuffer(answer.body)) {
    res.end(req.method === 'HEAD' || answer.body.length === 0 ? undefined : answer.body);
    return;
  }
  pipeline(answer.body, res, (err) => {
    // The upstream body failed mid-way (or the client left): the client sees it cut short.
    if (err) debug('gateway: the response body of %s %s ended early: %s', req.method, req.url, err.message);
  });
}

function fail(req, res, err, cache) {
  if (!(err instanceof UpstreamError)) cache.report(err);
  debug('gateway: %s %s failed: %s', req.method, req.url, err && err.message);
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const timeout = err instanceof UpstreamTimeoutError;
  answerPlain(req, res, timeout ? 504 : 502, timeout ? 'Gateway Timeout\n' : 'Bad Gateway\n');
}

/** A short text answer of the gateway's own, never stored. */
function answerPlain(req, res, status, body) {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Date: formatHttpDate(Date.now()),
    'X-Cache': 'MISS', 'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Builds the gateway handler of cache.proxy().
 * @param {import('../cache').Cache} cache
 * @param {string} upstream origin URL, optionally with a base path
 * @param {object} [options] lib/gateway/options.js
 * @returns {((req: import('http').IncomingMessage, res: import('http').ServerResponse, next?: Function) => void)
 *   & { engine: SharedCache, close(): Promise<void> }}
 */
function createProxy(cache, upstream, options) {
  const o = proxyOptions(upstream, options);
  const engine = new SharedCache(cache, o);

  function respcacheProxy(req, res) {
    const target = targetPath(req, o.basePath);
    if (target === null) {
      debug('gateway: %s %s: a target it cannot forward (400)', req.method, req.url);
      answerPlain(req, res, 400, 'Bad Request\n');
      return;
    }
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    let paths;
    try {
      paths = requestPaths(req);
    } catch {
      paths = [];
    }
    const request = {
      method: req.method,
      url: o.origin + target,
      headers: forwardHeaders(req, o),
      body: hasBody(req) ? req : null,
      signal: controller.signal,
      paths,
      onInterim: interimRelay(req, res),
    };
    engine.handle(request).then((answer) => send(req, res, answer, o), (err) => fail(req, res, err, cache));
  }

  respcacheProxy.engine = engine;
  respcacheProxy.close = () => engine.close();
  return respcacheProxy;
}

module.exports = { createProxy };
