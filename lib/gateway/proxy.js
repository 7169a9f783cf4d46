'use strict';

// cache.proxy(upstream, options): a request listener that is also Express middleware. It turns
// the client's request into an exchange for the shared cache (lib/gateway/engine.js): the
// upstream URL (origin + the upstream's path + the request's path relative to the mount point),
// end-to-end headers with Via and X-Forwarded-*, the body as a stream; then writes the answer
// with Via and X-Cache, after the upstream's interim responses (lib/gateway/interim.js). An
// upstream that fails is answered 502, one that times out 504.
const debug = require('debug')('respcache');
const { pipeline } = require('stream');
const { proxyOptions } = require('./options');
const { SharedCache } = require('./engine');
const { forwardHeaders } = require('./upstream');
const { interimRelay } = require('./interim');
const { requestPaths } = require('../http/paths');
const { UpstreamError, UpstreamTimeoutError } = require('../errors');
const { formatHttpDate } = require('../http/http-date');

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * The upstream request target: the upstream's base path, then the request's path (and query)
 * below the mount point, as sent. Under Express the rest of the path is taken from originalUrl:
 * mounted at /orders, a request for "/orders?x" has req.url "/?x", which would become another
 * URL (and another cache key) than the "/orders?x" asked for.
 */
function targetPath(req, basePath) {
  let rest;
  if (typeof req.baseUrl === 'string' && req.baseUrl !== '' && typeof req.originalUrl === 'string') {
    rest = req.originalUrl.replace(ABSOLUTE_FORM, '').slice(req.baseUrl.length);
  } else {
    rest = String(req.url || '/').replace(ABSOLUTE_FORM, '');
    if (!rest.startsWith('/')) rest = `/${rest}`;
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
  const status = err instanceof UpstreamTimeoutError ? 504 : 502;
  const body = status === 504 ? 'Gateway Timeout\n' : 'Bad Gateway\n';
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
      url: o.origin + targetPath(req, o.basePath),
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
