'use strict';

// Cache warming through the app's own routes: real HTTP requests to the app's own server, so
// every middleware, handler and store rule runs exactly as for a client.
const http = require('http');

/**
 * @param {import('http').Server | string} target a listening server, or its base URL (http://host:port)
 * @param {string[]} paths request paths with their query strings ('/api/products?page=1')
 * @param {{ headers?: object, concurrency?: number, timeout?: number }} [options]
 * @returns {Promise<Array<{ path: string, status: number, cache: string|undefined, error?: string }>>}
 */
async function warm(target, paths, options = {}) {
  let base;
  if (typeof target === 'string') {
    base = new URL(target);
    if (base.protocol !== 'http:') throw new TypeError('Expected warm() to be given an http:// base URL');
  } else if (target && typeof target.address === 'function' && target.address()) {
    const { address, port, family } = target.address();
    const host = address === '::' || address === '0.0.0.0' ? '127.0.0.1' : address;
    base = new URL(`http://${family === 'IPv6' && host !== '127.0.0.1' ? `[${host}]` : host}:${port}`);
  } else {
    throw new TypeError('Expected warm() to be given a listening http.Server or a base URL');
  }
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string' || !p.startsWith('/'))) {
    throw new TypeError('Expected warm() to be given an array of paths starting with "/"');
  }
  const { headers = {}, concurrency = 4, timeout = 30000 } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('Expected the "concurrency" option to be a positive integer');
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const results = new Array(paths.length);
  let next = 0;
  const one = (path) => new Promise((resolve) => {
    // A URL keeps an IPv6 host in brackets ('[::1]'); a socket address does not take them.
    const host = base.hostname.replace(/^\[(.*)\]$/, '$1');
    const req = http.get({ host, port: base.port, path, headers, agent, timeout }, (res) => {
      res.resume();
      res.on('end', () => resolve({ path, status: res.statusCode, cache: res.headers['x-cache'] }));
      res.on('error', (err) => resolve({ path, status: 0, cache: undefined, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
    req.on('error', (err) => resolve({ path, status: 0, cache: undefined, error: err.message }));
  });
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      results[i] = await one(paths[i]);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  } finally {
    agent.destroy();
  }
  return results;
}

module.exports = { warm };
