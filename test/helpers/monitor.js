'use strict';

// MONITOR on a raw socket, for tests that count the commands a cache sends. ioredis's monitor()
// fails now and then under load with "Command queue state error" (a feed line taken for the reply
// of a command of its own), failing every test of the file after it; this one has no queue.
const net = require('net');
const { EventEmitter } = require('events');

const ESCAPES = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' };

/**
 * One MONITOR line as Redis writes it (sdscatrepr quoting):
 * `<seconds>.<micros> [<db> <address>|lua] "<arg>" ...`.
 * @param {string} line without the leading '+' and the CRLF
 * @returns {{ time: string, source: string, args: string[] } | null} null when not such a line
 */
function parseMonitorLine(line) {
  const head = /^(\d+\.\d+) \[\d+ ([^\]]+)\] /.exec(line);
  if (!head) return null;
  const args = [];
  let i = head[0].length;
  while (i < line.length) {
    if (line[i] !== '"') return null;
    let arg = '';
    for (i++; i < line.length && line[i] !== '"'; i++) {
      if (line[i] !== '\\') {
        arg += line[i];
      } else if (line[i + 1] === 'x') {
        arg += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
        i += 3;
      } else {
        arg += ESCAPES[line[i + 1]] ?? line[i + 1];
        i++;
      }
    }
    args.push(arg);
    i += 2; // the closing quote and the space
  }
  return { time: head[1], source: head[2], args };
}

/**
 * Connects, sends MONITOR (AUTH first with a password) and resolves once Redis confirmed it.
 * The emitter sends ('monitor', time, args, source) for every command, as ioredis's does;
 * disconnect() ends it.
 * @param {{ port: number, host?: string, password?: string }} server
 * @returns {Promise<EventEmitter & { disconnect(): void }>}
 */
function monitor({ port, host = '127.0.0.1', password }) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    const feed = new EventEmitter();
    feed.disconnect = () => socket.destroy();
    let pending = '';
    let confirmations = password ? 2 : 1;
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`${password ? `AUTH ${password}\r\n` : ''}MONITOR\r\n`));
    socket.on('data', (chunk) => {
      pending += chunk;
      let end;
      while ((end = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (confirmations > 0) {
          if (line !== '+OK') {
            reject(new Error(`MONITOR refused: ${line}`));
            socket.destroy();
            return;
          }
          if (--confirmations === 0) resolve(feed);
          continue;
        }
        const parsed = parseMonitorLine(line.slice(1));
        if (parsed) feed.emit('monitor', parsed.time, parsed.args, parsed.source);
      }
    });
  });
}

module.exports = { monitor, parseMonitorLine };
