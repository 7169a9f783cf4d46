'use strict';

// Interim (1xx) responses of the upstream, relayed to the client of cache.proxy() (RFC 9110 15.2:
// a proxy forwards them) and never stored (RFC 9111 3: only final responses are). They reach only
// the client whose request went upstream: a HIT, or a follower answered from a coalesced fill,
// gets none. Node writes two interim statuses on a ServerResponse: 102 (writeProcessing) and 103
// (writeEarlyHints, which writes nothing without a Link it accepts). 100 and 101 never come here:
// Node answers a client's Expect: 100-continue itself, and undici (which sends no Expect) fails
// the request on an upstream's 100 or unrequested 101. Node has no public way to write any other
// 1xx (104, 199...), so those are dropped.
const debug = require('debug')('respcache');
const { listMembers } = require('../http/header-fields');

// writeEarlyHints writes names and values as given, in latin1: only visible ASCII, space and tab
// go through (no CR or LF that would end the field; undici decodes obs-text as UTF-8).
const UNSAFE = /[^\t\x20-\x7e]/;

/**
 * The hints object of res.writeEarlyHints() for a 103's fields: Link as link-values, every other
 * field with its lines joined by ", " (Node writes each name once); a value with anything but
 * visible ASCII, space and tab is dropped rather than written.
 * @param {object} fields lowercased names, end-to-end only (lib/gateway/upstream.js)
 * @returns {object}
 */
function earlyHints(fields) {
  const hints = {};
  for (const name of Object.keys(fields)) {
    const lines = [].concat(fields[name]).map(String);
    // One link-value per member: Node checks each against its pattern of one.
    if (name === 'link') hints.link = listMembers(lines, { uriReferences: true }).filter((value) => !UNSAFE.test(value));
    else if (!lines.some((line) => UNSAFE.test(line))) hints[name] = lines.join(', ');
  }
  return hints;
}

/**
 * The `onInterim` of a gateway request (lib/gateway/engine.js) that writes the upstream's interim
 * responses to `res` until its head is sent; undefined for an HTTP/1.0 client, which must get
 * no 1xx (RFC 9110 15.2).
 * @param {import('http').IncomingMessage} req
 * @param {import('http').ServerResponse} res
 * @returns {((status: number, fields: object) => void)|undefined}
 */
function interimRelay(req, res) {
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return undefined;
  return function relayInterim(status, fields) {
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    try {
      if (status === 102 && typeof res.writeProcessing === 'function') res.writeProcessing();
      else if (status === 103 && typeof res.writeEarlyHints === 'function') res.writeEarlyHints(earlyHints(fields));
      else debug('gateway: dropping an interim %d response for %s: Node cannot write it', status, req.url);
    } catch (err) {
      // writeEarlyHints checks Link against its own pattern (a quoted parameter with a space fails).
      debug('gateway: dropping an interim %d response for %s: %s', status, req.url, err.message);
    }
  };
}

module.exports = { interimRelay, earlyHints };
