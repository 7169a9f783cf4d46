'use strict';

// The `tls` option of createCache(), read once at setup into the one shape the addon takes
// (native/binding/redis_client_wrap.cc): every field present, PEM as text, defaults applied.
// The user's forms follow node:tls's own, so options written for tls.connect() or ioredis carry
// over: `true`, or { ca, cert, key, passphrase, servername, rejectUnauthorized, minVersion } with
// ca/cert/key a PEM string, a Buffer, or an array of them.
//
// This file checks shapes and types only, and cheaply: a PEM must at least have a "-----BEGIN"
// line. Parsing the certificates and keys, matching the key to the certificate and trying the
// passphrase is OpenSSL's work, in the addon, which throws ERR_RESPCACHE_TLS_BAD_OPTIONS.
//
// Messages name the option (`"tls.cert"`, `"tls.ca[1]"`) and never hold any of its value:
// a key or a passphrase must not reach a log.
const fs = require('fs');
const net = require('net');
const tls = require('tls');
const { isUint8Array } = require('util').types;

const TLS_OPTIONS = ['ca', 'cert', 'key', 'passphrase', 'servername', 'rejectUnauthorized', 'minVersion'];
const MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'];
// node:tls options that settings carried over from tls.connect() or ioredis may hold: named as
// unsupported rather than "unknown", which would suggest a look-alike (maxVersion -> minVersion).
const NODE_ONLY = ['pfx', 'ciphers', 'maxVersion', 'checkServerIdentity', 'secureContext', 'crl', 'ecdhCurve',
  'sigalgs', 'secureProtocol', 'secureOptions', 'session', 'ALPNProtocols', 'minDHSize', 'privateKeyEngine',
  'privateKeyIdentifier', 'clientCertEngine', 'enableTrace', 'allowPartialTrustChain', 'requestOCSP'];
const PEM_SHAPE = 'a PEM string, a Buffer holding PEM text, or an array of them';

let defaultCaText = null;

/**
 * The certificate authorities node:tls trusts when given no `ca`: its bundled roots, plus the
 * file named by NODE_EXTRA_CA_CERTS (which node:tls adds at startup). Node 22.15+ says which
 * itself (tls.getCACertificates('default'), which also follows --use-system-ca). Read once.
 * @returns {string} PEM text, never empty
 */
function defaultCa() {
  if (defaultCaText !== null) return defaultCaText;
  let certificates;
  if (typeof tls.getCACertificates === 'function') {
    certificates = tls.getCACertificates('default');
  } else {
    certificates = [...tls.rootCertificates];
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    if (extra) {
      // Node warns once at startup when it cannot read this file, and goes on without it.
      try {
        certificates.push(fs.readFileSync(extra, 'utf8'));
      } catch {
        // As node:tls does: the bundled roots alone.
      }
    }
  }
  defaultCaText = certificates.join('\n');
  return defaultCaText;
}

/** One PEM, given as a string or as bytes, as text; `name` is how messages call it. */
function pemText(value, name) {
  let text;
  if (typeof value === 'string') {
    text = value;
  } else if (isUint8Array(value)) { // a Buffer, or its base class (from any realm)
    // UTF-8, as the addon reads JavaScript strings back into bytes: text outside the PEM blocks
    // (openssl's "subject=" lines) then reaches OpenSSL as it was in the file.
    text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  } else {
    return null;
  }
  if (!text.includes('-----BEGIN')) {
    throw new TypeError(`Expected the "${name}" option to hold PEM text (it has no "-----BEGIN" line)`);
  }
  return text;
}

/** ca, cert or key: '' when absent, else the PEM text, the blocks of an array joined by '\n'. */
function pemOption(value, name) {
  if (value === undefined) return '';
  if (Array.isArray(value)) {
    if (value.length === 0) throw new TypeError(`Expected the "${name}" option to hold at least one PEM`);
    return value.map((item, i) => {
      const text = pemText(item, `${name}[${i}]`);
      if (text === null) throw new TypeError(`Expected the "${name}[${i}]" option to be a PEM string or a Buffer`);
      return text;
    }).join('\n');
  }
  const text = pemText(value, name);
  if (text === null) throw new TypeError(`Expected the "${name}" option to be ${PEM_SHAPE}`);
  return text;
}

function stringOption(value, name) {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new TypeError(`Expected the "${name}" option to be a string`);
  return value;
}

function servernameOption(value, name) {
  const servername = stringOption(value, name);
  if (servername === '') return servername;
  // SNI carries a DNS name only (RFC 6066), and the host check of an IP address uses the
  // address the cache connects to.
  if (net.isIP(servername)) {
    throw new TypeError(`Expected the "${name}" option to be a DNS name, not an IP address ` +
      '(an IP address is checked from the host connected to; leave it unset)');
  }
  if (servername.length > 253 || !/^[A-Za-z0-9._-]+$/.test(servername)) {
    throw new TypeError(`Expected the "${name}" option to be a DNS name (letters, digits, ".", "-" and "_")`);
  }
  return servername;
}

/**
 * Validates the `tls` option and gives the addon's shape of it.
 * @param {unknown} value `undefined`, `false`, `true`, or { ca, cert, key, passphrase, servername,
 *   rejectUnauthorized, minVersion }
 * @param {string} [what] the option's name in messages
 * @returns {null | Readonly<{ ca: string, cert: string, key: string, passphrase: string,
 *   servername: string, rejectUnauthorized: boolean, minVersion: 'TLSv1.2' | 'TLSv1.3' }>}
 *   null for no TLS; otherwise every field set: `ca` is never empty (node:tls's default
 *   authorities when none is given), '' means "none" for cert, key and passphrase and "from the
 *   host" for servername.
 * @throws {TypeError} naming the option, never quoting its value
 */
function tlsOptions(value, what = 'tls') {
  if (value === undefined || value === false) return null;
  if (value === true) value = {};
  // Required here, not at the top: lib/options.js requires this file.
  const { isPlainObject, rejectUnknown } = require('./options');
  if (!isPlainObject(value)) {
    throw new TypeError(`Expected the "${what}" option to be a boolean or an object ` +
      `{ ${TLS_OPTIONS.join(', ')} }`);
  }
  const unsupported = Object.keys(value).find((name) => NODE_ONLY.includes(name));
  if (unsupported !== undefined) {
    throw new TypeError(`The "${what}.${unsupported}" option of node:tls is not supported ` +
      `(supported: ${TLS_OPTIONS.join(', ')})`);
  }
  rejectUnknown(value, TLS_OPTIONS, `the "${what}" option`);
  const ca = pemOption(value.ca, `${what}.ca`);
  const cert = pemOption(value.cert, `${what}.cert`);
  const key = pemOption(value.key, `${what}.key`);
  if (cert !== '' && key === '') {
    throw new TypeError(`Expected the "${what}.key" option with "${what}.cert" (a client certificate needs its private key)`);
  }
  if (key !== '' && cert === '') {
    throw new TypeError(`Expected the "${what}.cert" option with "${what}.key" (a private key needs its client certificate)`);
  }
  const passphrase = stringOption(value.passphrase, `${what}.passphrase`);
  if (value.passphrase !== undefined && key === '') {
    throw new TypeError(`Expected the "${what}.passphrase" option only with "${what}.key" (it decrypts the private key)`);
  }
  const servername = servernameOption(value.servername, `${what}.servername`);
  let rejectUnauthorized = true;
  if (value.rejectUnauthorized !== undefined) {
    if (typeof value.rejectUnauthorized !== 'boolean') {
      throw new TypeError(`Expected the "${what}.rejectUnauthorized" option to be a boolean`);
    }
    rejectUnauthorized = value.rejectUnauthorized;
  }
  let minVersion = 'TLSv1.2';
  if (value.minVersion !== undefined) {
    if (!MIN_VERSIONS.includes(value.minVersion)) {
      throw new TypeError(`Expected the "${what}.minVersion" option to be 'TLSv1.2' or 'TLSv1.3'`);
    }
    minVersion = value.minVersion;
  }
  return Object.freeze(Object.assign(Object.create(REDACTED), {
    ca: ca === '' ? defaultCa() : ca, cert, key, passphrase, servername, rejectUnauthorized, minVersion,
  }));
}

// The normalised options keep their PEM text as plain fields (the native client reads them), but
// logging the cache (console.log(cache), util.inspect, JSON.stringify of its options) must not
// print a private key or its passphrase: both show only what is not secret.
const REDACTED = Object.freeze({
  [require('util').inspect.custom]() { return `[TLS options${describe(this)}]`; },
  toJSON() { return `[TLS options${describe(this)}]`; },
});

function describe(o) {
  const parts = [o.cert ? 'client certificate' : '', o.servername ? `servername ${o.servername}` : '',
    o.rejectUnauthorized ? '' : 'rejectUnauthorized: false', `min ${o.minVersion}`].filter(Boolean);
  return `: ${parts.join(', ')}`;
}

module.exports = { tlsOptions, defaultCa };
