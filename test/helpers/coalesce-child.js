'use strict';

// A separate Node process serving one cached route, for the cross-process coalescing tests.
// Usage: node coalesce-child.js <redis-url> <handler-delay-ms> [hang|''] [lock-ttl-ms]
// Prints {"port": N} once listening. GET /r?... runs the cached handler (counted per URL);
// GET /calls returns the counts as JSON. With "hang" the handler never answers (the test kills
// the process to play a leader that dies mid-handler). The route's lockTtl is lock-ttl-ms
// (default 10000); its coalesceTimeout is 60 s, so that a waiter that runs the handler does so
// because the lock was given back or expired. commandTimeout is 5 s: these processes run beside
// each other and the sanitizer.
const path = require('path');
const express = require('express');
const { createCache } = require(path.join(__dirname, '..', '..', 'lib'));
const { busReady } = require('./internals');

const [url, delay, hang, lockTtl = '10000'] = process.argv.slice(2);
const cache = createCache({ redis: url, commandTimeout: 5000 });
cache.on('error', () => {});
const calls = {};
const app = express();
app.get('/calls', (req, res) => res.json(calls));
app.get('/r', cache.middleware({ ttl: 60, coalesceTimeout: 60000, lockTtl: Number(lockTtl) }), (req, res) => {
  calls[req.originalUrl] = (calls[req.originalUrl] || 0) + 1;
  if (hang === 'hang') return;
  setTimeout(() => res.json({ url: req.originalUrl, pid: process.pid }), Number(delay));
});
Promise.all([new Promise((r) => cache.once('ready', r)), busReady(cache)]).then(() => {
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
});
process.on('SIGTERM', () => process.exit(0));
