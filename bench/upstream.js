'use strict';

// The upstream service of the gateway section (bench/run.js, bench/gateway-stampede.js): a plain
// node:http server that answers every GET after a simulated 20 ms of work, with the same bytes as
// the other cases (bench/body.js).
//   node bench/upstream.js <bodyBytes> [delayMs=20]
//   GET /cached/...   Cache-Control: public, max-age=3600, an ETag (what a gateway may store)
//   GET /nocache/...  Cache-Control: no-store (the same gateway, forwarding every request)
//   GET /__count?path=/cached/x   {"count": n}: how many requests for that path reached it
// Prints {"port":N,"pid":P} once it listens; exits when its stdin closes (the runner went away).
const http = require('http');
const { makeBody } = require('./body');

const [sizeArg, delayArg] = process.argv.slice(2);
const size = Number(sizeArg);
const delayMs = delayArg === undefined ? 20 : Number(delayArg);
if (!Number.isInteger(size) || size <= 0 || !Number.isInteger(delayMs) || delayMs < 0) {
  console.error('usage: node bench/upstream.js <bodyBytes> [delayMs=20]');
  process.exit(2);
}

const stdinStat = require('fs').fstatSync(0);
if (stdinStat.isFIFO() || stdinStat.isSocket()) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

const body = makeBody(size);
const counts = new Map();

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://upstream');
  if (url.pathname === '/__count') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ count: counts.get(url.searchParams.get('path')) || 0 }));
    return;
  }
  counts.set(url.pathname, (counts.get(url.pathname) || 0) + 1);
  const cacheControl = url.pathname.startsWith('/cached/') ? 'public, max-age=3600'
    : url.pathname.startsWith('/nocache/') ? 'no-store' : null;
  if (cacheControl === null || req.method !== 'GET') {
    res.statusCode = 404;
    res.end();
    return;
  }
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length,
      'cache-control': cacheControl, etag: `"b${size}"` });
    res.end(body);
  }, delayMs);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port, pid: process.pid })}\n`);
});
