'use strict';

// Fixtures of the cache.fetch() / cache.aggregate() tests: origin servers whose answers each test
// scripts (`origin.handle = (req, res, body) => ...`), recording every request they get. The
// cache under test runs on a real redis-server (test/helpers/redis.js).
const http = require('http');

/** An origin on 127.0.0.1:0; `origin.requests` lists { method, url, headers, body }. */
async function startOrigin() {
  const origin = { requests: [], handle: (req, res) => res.end('default') };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      origin.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      origin.handle(req, res, body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin.url = `http://127.0.0.1:${server.address().port}`;
  origin.count = (url) => origin.requests.filter((r) => url === undefined || r.url === url).length;
  origin.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return origin;
}

/** Answers JSON with the given headers after `delayMs`. */
function json(value, headers = {}, { status = 200, delayMs = 0 } = {}) {
  return (req, res) => setTimeout(() => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(typeof value === 'function' ? value(req) : value));
  }, delayMs);
}

/** A URL on 127.0.0.1 where nothing listens (a port that was free a moment ago). */
async function deadUrl() {
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

module.exports = { startOrigin, json, deadUrl };
