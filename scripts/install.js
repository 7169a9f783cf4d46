'use strict';

// The package's "install" script. Where the prebuilt addon in the package serves this machine
// (linux-x64, glibc >= 2.32), there is nothing to do; anywhere else, and in a clone of the
// repository (which has no prebuilds/), the addon is compiled from source into build/.
// lib/binding.js finds either at run time, so an install with scripts blocked (--ignore-scripts)
// still works wherever the prebuilt does.
//
// `npm install --build-from-source` (or RESPCACHE_BUILD_FROM_SOURCE=1) compiles even where the
// prebuilt would load.
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const NEEDS = 'cmake >= 3.15, a C++17 compiler (g++ or clang++), make or ninja, the hiredis ' +
  'headers and library, and Node\'s own development headers (include/node with uv.h and openssl/; ' +
  'the official Node builds have them, distribution packages need e.g. libnode-dev or nodejs-dev) ' +
  '(Debian/Ubuntu: apt-get install build-essential cmake libhiredis-dev)';

function say(message) {
  process.stderr.write(`respcache: ${message}\n`);
}

/**
 * Whether a build-from-source setting names respcache: true/1, or a comma-separated list of
 * package names that includes it (node-pre-gyp's --build-from-source=<pkg> form, which must not
 * make every other native package compile).
 */
function truthy(value) {
  if (value === undefined) return false;
  const v = String(value).trim();
  if (v === 'true' || v === '1') return true;
  return v.split(',').map((name) => name.trim()).includes('respcache');
}

/**
 * Whether lib/binding.js loads the prebuilt addon, asked in a separate node so that a crash or
 * a missing glibc symbol cannot take npm down, and so that the loader's own rules (platform,
 * glibc) decide.
 * @returns {{ ok: boolean, reason: string }} reason: '' when the package has no prebuilt
 */
function prebuiltLoads() {
  const env = { ...process.env, RESPCACHE_PREBUILT_ONLY: '1' };
  delete env.RESPCACHE_ADDON_PATH;
  const probe = spawnSync(process.execPath, ['-e', 'require(process.argv[1])',
    path.join(root, 'lib', 'binding.js')], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (probe.status === 0) return { ok: true, reason: '' };
  // The loader's error lists the prebuilt as "  <file>: <why>".
  const line = (probe.stderr || '').split('\n').find((l) => l.includes(`prebuilds${path.sep}linux-x64`));
  if (line && /: not found$/.test(line)) return { ok: false, reason: '' };
  return { ok: false, reason: line ? line.trim() : `exit ${probe.status}, signal ${probe.signal}` };
}

function buildFromSource() {
  let cmakeJs;
  try {
    cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json', { paths: [root] })),
      'bin', 'cmake-js');
  } catch {
    say('cannot build the addon: the cmake-js package is missing (it is a dependency of respcache)');
    return 1;
  }
  const build = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], {
    cwd: root, stdio: 'inherit',
  });
  if (build.status === 0) return 0;
  say(`building the addon from source failed (${build.error ? build.error.message :
    `exit ${build.status}`}). The source build needs ${NEEDS}. A prebuilt addon exists for ` +
    'linux-x64 with glibc >= 2.32 only.');
  return 1;
}

function main() {
  const fromSource = truthy(process.env.npm_config_build_from_source) ||
    truthy(process.env.RESPCACHE_BUILD_FROM_SOURCE);
  if (!fromSource) {
    const prebuilt = prebuiltLoads();
    if (prebuilt.ok) {
      // npm shows this only with --foreground-scripts (scripts/test-package.sh looks for it).
      say('the prebuilt addon prebuilds/linux-x64/respcache.node loads here: nothing to build');
      return 0;
    }
    // A clone has no prebuilds/ and always builds: nothing to explain there.
    if (prebuilt.reason) say(`no prebuilt addon for this machine (${prebuilt.reason}); building it from source`);
  }
  return buildFromSource();
}

process.exitCode = main();
