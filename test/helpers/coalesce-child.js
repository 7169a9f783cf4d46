'use strict';

// A separate Node process serving one cached route, for the cross-process coalescing tests.
// Usage: node coalesce-child.js <redis-url> <handler-delay-ms> [hang]
// Prints {"port": N} once listening. GET /r?... runs the cached handler (counted per URL);
// GET /calls returns the counts as JSON. With "hang" the handler never answers (the test kills
// the process to play a leader that dies mid-handler).
const path = require('path');
const express = require('express');
const { createCache } = require(path.join(__dirname, '..', '..', 'lib'));
const { busReady } = require('./internals');

const [url, delay, hang] = process.argv.slice(2);
const cache = createCache({ redis: url, commandTimeout: 1000 });
cache.on('error', () => {});
const calls = {};
const app = express();
app.get('/calls', (req, res) => res.json(calls));
app.get('/r', cache.middleware({ ttl: 60, coalesceTimeout: 5000, lockTtl: 1000 }), (req, res) => {
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
