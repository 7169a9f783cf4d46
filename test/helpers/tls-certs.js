'use strict';

// TLS fixtures for the tests: test/helpers/gen-certs.sh run once per Jest worker into a temporary
// folder (removed when the process exits). See gen-certs.sh for what each file is.
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

let dir = null;

/** @returns {string} the folder holding ca/server/wrongname/expired/client/other-client .crt/.key */
function certDir() {
  if (dir) return dir;
  const made = fs.mkdtempSync(path.join(os.tmpdir(), 'respcache-certs-'));
  execFileSync('bash', [path.join(__dirname, 'gen-certs.sh'), made], { stdio: ['ignore', 'ignore', 'inherit'] });
  process.on('exit', () => fs.rmSync(made, { recursive: true, force: true }));
  dir = made;
  return dir;
}

/** The PEM text of `<name>` (e.g. 'ca.crt', 'client.key'). */
function pem(name) {
  return fs.readFileSync(path.join(certDir(), name), 'utf8');
}

module.exports = { certDir, pem };
