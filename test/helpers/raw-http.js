'use strict';

// A request written byte for byte on a socket: node:http's client refuses many of the request
// targets a key-integrity test needs (raw "#", bytes above 0x7f, backslashes), real clients send.
const net = require('net');

/**
 * Sends `GET <target> HTTP/1.1` with the target's bytes as given (a latin1 string or a Buffer) and
 * resolves with the response once the server closes the connection.
 * @param {number} port
 * @param {string|Buffer} target
 * @param {{ method?: string, headers?: Record<string, string> }} [opts]
 * @returns {Promise<{ status: number, headers: Record<string, string>, text: string }>}
 */
function rawRequest(port, target, opts = {}) {
  const head = [`${opts.method || 'GET'} `];
  const headers = { host: 'keys.test', ...opts.headers, connection: 'close' };
  const tail = ` HTTP/1.1\r\n${Object.entries(headers).map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  const bytes = Buffer.concat([Buffer.from(head[0], 'latin1'),
    Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'), Buffer.from(tail, 'latin1')]);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      const lines = raw.subarray(0, split).toString('latin1').split('\r\n');
      const out = { status: Number(lines[0].split(' ')[1]), headers: {}, text: '' };
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        out.headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = raw.subarray(split + 4);
      const chunked = /chunked/i.test(out.headers['transfer-encoding'] || '');
      out.text = (chunked ? dechunk(body) : body).toString('utf8');
      resolve(out);
    });
    socket.write(bytes);
  });
}

function dechunk(body) {
  const parts = [];
  let pos = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', pos);
    const size = Number.parseInt(body.subarray(pos, eol).toString('latin1'), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

module.exports = { rawRequest };
