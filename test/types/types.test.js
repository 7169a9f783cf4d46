'use strict';

// index.d.ts under `tsc --strict`, the way a TypeScript user meets it: a fresh project holding
// only respcache's package.json and index.d.ts in node_modules (copied, not linked: resolution
// from the repo would find the prom-client and @types packages in its own node_modules and hide a
// missing one), no @types/node, no @types/express, no prom-client, and ES2022's lib alone.
const { execFile } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const dirs = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A consumer project of `files` (from test/types/). With `nodeTypes`, Node's types are loaded
 * from the repo's own @types/node (no other package is reachable from there).
 */
function project(files, { nodeTypes = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'respcache-types-'));
  dirs.push(dir);
  const pkg = path.join(dir, 'node_modules', 'respcache');
  fs.mkdirSync(pkg, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.copyFileSync(path.join(ROOT, 'index.d.ts'), path.join(pkg, 'index.d.ts'));
  for (const file of files) fs.copyFileSync(path.join(__dirname, file), path.join(dir, file));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    // Explicit, so the defaults of the TypeScript version do not matter. skipLibCheck must stay
    // off: with it on, errors inside index.d.ts itself are never reported.
    compilerOptions: {
      strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
      lib: ['es2022'], skipLibCheck: false,
      ...(nodeTypes ? { types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')] } : { types: [] }),
    },
    files,
  }));
  return dir;
}

/** The node_modules/<name> that Node's and TypeScript's resolution would find from `dir`, or null. */
function installedAbove(dir, name) {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'node_modules', name))) return path.join(d, 'node_modules', name);
    if (path.dirname(d) === d) return null;
  }
}

/** Runs our own tsc on the project; resolves with its exit code and output. */
function tsc(dir) {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '-p', dir, '--pretty', 'false'], { cwd: dir, timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('index.d.ts', () => {
  it('is checked with the pinned typescript (a missing compiler fails the test)', () => {
    expect(fs.existsSync(TSC)).toBe(true);
  });

  describe('in a project without prom-client, @types/node or @types/express', () => {
    let consumer;
    let broken;
    beforeAll(async () => {
      consumer = project(['consumer.ts']);
      broken = project(['broken.ts']);
      [consumer, broken] = await Promise.all([consumer, broken].map(async (dir) => ({ dir, ...(await tsc(dir)) })));
    });

    it('has none of them to resolve', () => {
      for (const name of ['prom-client', 'express', '@types/node', '@types/express']) {
        expect([name, installedAbove(consumer.dir, name)]).toEqual([name, null]);
      }
    });

    it('compiles a consumer of every public function, method and option under --strict', () => {
      expect(consumer.output).toBe('');
      expect(consumer.code).toBe(0);
    });

    it('fails a consumer that misuses it, with the expected error', () => {
      expect(broken.code).not.toBe(0);
      expect(broken.output).toMatch(/^broken\.ts\(7,\d+\): error TS2322: Type 'string' is not assignable to type 'number'\.$/m);
    });
  });

  describe('against the runtime', () => {
    const dts = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8');
    const respcache = require('../..');

    it('declares exactly the values lib/index.js exports', () => {
      const declared = [...dts.matchAll(/^export declare (?:function|class|const) (\w+)/gm)].map((m) => m[1]);
      expect(declared.sort()).toEqual(Object.keys(respcache).sort());
    });

    it('declares on Cache only members its instances have', async () => {
      const body = dts.slice(dts.indexOf('export declare class Cache {'));
      const members = [...body.slice(0, body.indexOf('\n}')).matchAll(/^ {2}(?:readonly )?(\w+)[<(:]/gm)]
        .map((m) => m[1]).filter((name) => name !== 'constructor');
      expect(members.length).toBeGreaterThan(20);
      const saved = process.env.REDIS_URL;
      delete process.env.REDIS_URL; // embedded: no connection
      const cache = new respcache.Cache();
      if (saved !== undefined) process.env.REDIS_URL = saved;
      try {
        for (const name of members) expect([name, name in cache]).toEqual([name, true]);
      } finally {
        await cache.close();
      }
    });
  });

  describe("with Node's types loaded", () => {
    it('compiles the consumers, and a body is a Buffer', async () => {
      const { code, output } = await tsc(project(['consumer.ts', 'consumer-node.ts'], { nodeTypes: true }));
      expect(output).toBe('');
      expect(code).toBe(0);
    });
  });
});
