'use strict';

// Forwarding to the upstream through undici: one keep-alive pool per proxy, connect / headers /
// body timeouts, bodies streamed both ways; the hop-by-hop fields of both directions removed
// (RFC 9110 7.6.1; from interim responses too), Via (RFC 9110 7.6.3) and X-Forwarded-* added,
// the client's forwarded fields removed unless trusted.
// The request target goes as the caller built it, byte for byte (RFC 9110 7.7): nothing here
// parses and re-serialises it. Failures become UpstreamError / UpstreamTimeoutError, which the
// proxy answers with 502 / 504.
const { Pool } = require('undici');
const { listMembers, fieldValues } = require('../http/header-fields');
const { formatHttpDate } = require('../http/http-date');
const { UpstreamError, UpstreamTimeoutError } = require('../errors');

// RFC 9110 7.6.1 (and Proxy-Connection, which some clients still send); TE is handled apart.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer',
  'te', 'proxy-authorization', 'proxy-authenticate', 'proxy-authentication-info', 'http2-settings']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
// The forwarded fields (RFC 7239 Forwarded and the de facto X-Forwarded-*, X-Forwarded-For
// apart): an upstream may build its response from any of them (absolute links, https redirects,
// a path prefix), so each one sent upstream is part of the cache key, in this order
// (engine-entries.js baseKey). X-Forwarded-For is not: it names the client, one entry per client.
// Beyond the common ones: the scheme fields frameworks read (Rack's X-Forwarded-Scheme,
// X-Forwarded-Ssl, Front-End-Https, X-Url-Scheme), the host ones (X-Original-Host, X-Host), and
// the rewritten-target fields some routers obey (X-Original-URL, X-Rewrite-URL, X-Forwarded-Uri,
// X-Forwarded-Path): each can change what the upstream answers for the same URL.
const FORWARDED_FIELDS = Object.freeze(['forwarded', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port',
  'x-forwarded-prefix', 'x-forwarded-server', 'x-forwarded-scheme', 'x-forwarded-ssl', 'front-end-https', 'x-url-scheme',
  'x-original-host', 'x-host', 'x-original-url', 'x-rewrite-url', 'x-forwarded-uri', 'x-forwarded-path']);

/**
 * A copy of `headers` (object, lowercased names) without the hop-by-hop fields, those the
 * Connection field names, and Host (the upstream's own is sent). `expect` goes too: the proxy
 * reads the whole request itself.
 * @param {object} headers
 * @returns {object}
 */
function endToEnd(headers) {
  const drop = new Set(HOP_BY_HOP);
  for (const name of listMembers(fieldValues(headers, 'connection'))) drop.add(name.toLowerCase());
  const out = {};
  for (const name of Object.keys(headers)) {
    if (drop.has(name) || name === 'host' || name === 'expect' || name.startsWith(':')) continue;
    if (headers[name] !== undefined) out[name] = headers[name];
  }
  return out;
}

/**
 * The request headers sent upstream for a client request: end-to-end fields, Via appended, and,
 * with the `xForwarded` option, X-Forwarded-For appended (the client's address after those it
 * sent, as every proxy does) and X-Forwarded-Host / -Proto. Without `trustForwarded` the client's
 * forwarded fields (FORWARDED_FIELDS) are removed, never passed on, and the gateway sets
 * X-Forwarded-Host to the Host it received and X-Forwarded-Proto to the protocol of the
 * connection it came on: the upstream may build its response from them, and one client must not
 * choose what the cache hands to another. With `trustForwarded` (a proxy in front sets them) the
 * client's pass as they are, and the gateway sets -Host / -Proto only where the client sent
 * none. Either way the cache key holds the values sent (engine-entries.js baseKey). Without
 * `xForwarded` none of them is sent, the client's neither, and no X-Forwarded-For.
 * @param {import('http').IncomingMessage} req
 * @param {{ via: string|null, xForwarded: boolean, trustForwarded: boolean }} o
 * @returns {object}
 */
function forwardHeaders(req, o) {
  const out = endToEnd(req.headers);
  if (o.via !== null) out.via = out.via ? `${out.via}, ${o.via}` : o.via;
  const sentFor = out['x-forwarded-for'];
  delete out['x-forwarded-for'];
  if (!o.trustForwarded) for (const name of FORWARDED_FIELDS) delete out[name];
  if (!o.xForwarded) return out;
  const ip = req.socket && req.socket.remoteAddress;
  if (ip) out['x-forwarded-for'] = sentFor ? `${sentFor}, ${ip}` : ip;
  else if (sentFor !== undefined) out['x-forwarded-for'] = sentFor;
  if (out['x-forwarded-proto'] === undefined) out['x-forwarded-proto'] = req.socket && req.socket.encrypted ? 'https' : 'http';
  if (out['x-forwarded-host'] === undefined && req.headers.host) out['x-forwarded-host'] = req.headers.host;
  return out;
}

/**
 * Response headers as received, less hop-by-hop fields, with Date added when the upstream sent
 * none (RFC 9110 6.6.1: a recipient with a clock dates the response at receipt).
 * @param {object} headers undici's (lowercased names)
 * @param {number} responseTime
 */
function responseHeaders(headers, responseTime) {
  const out = endToEnd(headers);
  if (out.date === undefined) out.date = formatHttpDate(responseTime);
  return out;
}

function upstreamError(err, url) {
  if (err instanceof UpstreamError) return err;
  const what = `${url}: ${err && err.message}`;
  if (err && TIMEOUT_CODES.has(err.code)) return new UpstreamTimeoutError(`the upstream timed out (${err.code}) for ${what}`, { cause: err });
  return new UpstreamError(`the upstream failed for ${what}`, { cause: err });
}

class Upstream {
  /**
   * @param {{ origin: string, timeout: { connect: number, headers: number, body: number }, connections: number }} o
   * @param {{ now(): number }} clock
   */
  constructor(o, clock) {
    this.origin = o.origin;
    this.clock = clock;
    this.pool = new Pool(o.origin, {
      connections: o.connections,
      connect: { timeout: o.timeout.connect },
      headersTimeout: o.timeout.headers,
      bodyTimeout: o.timeout.body,
    });
  }

  /**
   * Sends one request. Resolves once the response head arrived; the body streams.
   * @param {{ method: string, url: string, headers: object, body: import('stream').Readable|Buffer|null,
   *   signal?: AbortSignal, onInterim?: (status: number, fields: object) => void }} request `url` absolute, on
   *   this upstream's origin: what follows the origin ('/' and on) is the request target sent, as it is;
   *   `onInterim` hears each interim (1xx) response, its fields end-to-end only
   * @returns {Promise<{ status: number, headers: object, body: import('stream').Readable,
   *   requestTime: number, responseTime: number }>} body errors are UpstreamErrors too
   * @throws {UpstreamError|UpstreamTimeoutError} (as a rejection); a TypeError for a URL on another origin
   */
  async send({ method, url, headers, body, signal, onInterim }) {
    if (!url.startsWith(this.origin) || url.charAt(this.origin.length) !== '/') {
      throw new TypeError(`Expected a URL on the upstream ${this.origin}, got ${JSON.stringify(url)}`);
    }
    const options = { method, path: url.slice(this.origin.length), headers: endToEnd(headers), body: body || null, signal };
    if (typeof onInterim === 'function') {
      options.onInfo = ({ statusCode, headers: fields }) => onInterim(statusCode, endToEnd(fields));
    }
    const requestTime = this.clock.now();
    let res;
    try {
      res = await this.pool.request(options);
    } catch (err) {
      throw upstreamError(err, url);
    }
    const responseTime = this.clock.now();
    // Body failures reach whoever reads it as UpstreamErrors too (a timeout: UpstreamTimeoutError).
    const stream = res.body;
    const emit = stream.emit;
    stream.emit = function emitMapped(event, err, ...rest) {
      if (event === 'error') return emit.call(this, event, upstreamError(err, url), ...rest);
      return emit.call(this, event, err, ...rest);
    };
    return { status: res.statusCode, headers: responseHeaders(res.headers, responseTime), body: stream, requestTime, responseTime };
  }

  /** Closes the pool's connections once requests in flight end. */
  close() {
    return this.pool.close();
  }
}

module.exports = { Upstream, endToEnd, forwardHeaders, responseHeaders, HOP_BY_HOP, FORWARDED_FIELDS };
