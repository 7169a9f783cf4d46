'use strict';

// Real HTTP: an Express app listening on port 0 and a keep-alive client built on node:http.
const http = require('http');

/**
 * @typedef {{ status: number, headers: import('http').IncomingHttpHeaders, rawHeaders: string[],
 *   body: Buffer, text: string, reusedSocket: boolean,
 *   interim: { status: number, headers: import('http').IncomingHttpHeaders }[] }} Reply `interim`: the
 *   interim (1xx) responses received before it, in order
 */

/**
 * Listens on 127.0.0.1:0 and returns a small client bound to the server.
 * @param {import('http').RequestListener} app
 */
async function serve(app) {
  const server = http.createServer(app);
  let connections = 0;
  server.on('connection', () => { connections++; });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  /**
   * @param {string} path
   * @param {{ method?: string, headers?: object, body?: string|Buffer, agent?: http.Agent|false }} [opts]
   * @returns {Promise<Reply>}
   */
  function request(path, opts = {}) {
    return new Promise((resolve, reject) => {
      const interim = [];
      const req = http.request({
        host: '127.0.0.1', port, path, method: opts.method || 'GET',
        headers: opts.headers || {}, agent: opts.agent === undefined ? agent : opts.agent,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders,
            body, text: body.toString('utf8'), reusedSocket: req.reusedSocket, interim,
          });
        });
      });
      req.on('information', (info) => interim.push({ status: info.statusCode, headers: info.headers }));
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    agent,
    request,
    get: (path, opts) => request(path, { ...opts, method: 'GET' }),
    head: (path, opts) => request(path, { ...opts, method: 'HEAD' }),
    /** Number of TCP connections the server accepted so far. */
    get connections() { return connections; },
    close() {
      agent.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

module.exports = { serve };
