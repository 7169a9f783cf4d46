'use strict';

// `npm run demo:gateway` as a user runs it: examples/gateway/demo.js in a child process, with its
// own redis-server, must pass every one of its checks and exit 0 by itself.
const path = require('path');
const { execFile } = require('child_process');

const DEMO = path.join(__dirname, '../../examples/gateway/demo.js');

it('project rule (npm run demo:gateway): runs the gateway demo to the end and exits 0', async () => {
  const env = { ...process.env };
  delete env.REDIS_URL;
  const { code, stdout, stderr } = await new Promise((resolve) => {
    execFile(process.execPath, [DEMO], { env, timeout: 25000 }, (err, out, errOut) => {
      resolve({ code: err ? err.code : 0, stdout: out, stderr: errOut });
    });
  });
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  expect(stdout).toMatch(/REVALIDATED/);
  expect(stdout).toMatch(/^OK: /m);
});
