'use strict';

// Fixtures of proxy-rfc-rules.test.js beyond proxy-fixtures.js: an origin that gets a request
// before its body has arrived, a client that reads a response as it streams (and tells a cut one
// from a whole one), and a loopback address whose TCP connections never complete.
const http = require('http');
const net = require('net');
const { spawn } = require('child_process');
const { bareGateway } = require('./proxy-fixtures');
const { formatHttpDate } = require('../../lib/http/http-date');

/**
 * The scripting helpers of a gatewaySuite() `t`: `dated(headers)` adds a Date from the suite's
 * clock; `start(handle, options)` scripts the origin and opens the gateway on `t.gw`.
 * @param {{ clock: object, cache: object, origin: object, gw: object|null }} t
 */
function scripting(t) {
  return {
    dated: (headers) => ({ Date: formatHttpDate(t.clock.now()), ...headers }),
    async start(handle, options) {
      t.origin.handle = handle;
      t.gw = await bareGateway(t.cache, t.origin.url, options);
    },
  };
}

/**
 * An origin on 127.0.0.1:0 whose handler gets each request as soon as its head arrived, the body
 * unread (proxy-fixtures' origin reads it in full first).
 * @param {import('http').RequestListener} handler
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
async function rawOrigin(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * GETs `url` and reads the response as it streams: `onFirstChunk` runs when the first body bytes
 * arrive, and the read fails when none came within `firstWithinMs` of the request (a proxy that
 * holds the response back until it has all of it). Resolves once the response closes, whole or cut.
 * @param {string} url
 * @param {{ onFirstChunk?: () => void, firstWithinMs?: number }} [how]
 * @returns {Promise<{ status: number, headers: import('http').IncomingHttpHeaders, text: string, cut: boolean }>}
 */
function readStreamed(url, { onFirstChunk = () => {}, firstWithinMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no body bytes within ${firstWithinMs} ms: the response body was not streamed`));
    }, firstWithinMs);
    const req = http.get(url, { agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => {
        if (chunks.length === 0) {
          clearTimeout(timer);
          onFirstChunk();
        }
        chunks.push(chunk);
      });
      res.on('error', () => {}); // a cut response: seen on 'close' as incomplete
      res.on('close', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString(), cut: !res.complete });
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

// The child: a listening socket with a backlog of 1, then an event loop blocked for good, so that
// it never accepts a connection.
const NEVER_ACCEPTS = `const net = require('net');
const server = net.createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(server.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});`;

/**
 * An upstream URL on loopback whose connections never complete: a socket listening in a child
 * process that never accepts, with its accept queue full (Linux queues backlog + 1 connections,
 * two here, and drops the SYNs of further ones), so a connect attempt waits for its own timeout.
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
async function unansweredUpstream() {
  const child = spawn(process.execPath, ['-e', NEVER_ACCEPTS], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fillers = [];
  const close = () => {
    for (const socket of fillers) socket.destroy();
    const exited = child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null;
    child.kill();
    return exited || Promise.resolve();
  };
  try {
    const port = await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the listening child exited (${code})`)));
      child.stdout.once('data', (line) => resolve(Number(String(line).trim())));
    });
    for (let i = 0; i < 2; i++) {
      const socket = net.connect(port, '127.0.0.1');
      fillers.push(socket);
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    }
    return { url: `http://127.0.0.1:${port}`, close };
  } catch (err) {
    await close();
    throw err;
  }
}

module.exports = { scripting, rawOrigin, readStreamed, unansweredUpstream };
