'use strict';

// Jest setupFilesAfterEnv: after each test file, whatever it started and did not stop (because a
// test failed before its own cleanup) is stopped, so that one failure is reported as a failure
// instead of keeping the run open until CI's time limit.
const { closeAllServers } = require('./redis');

afterAll(async () => {
  await closeAllServers();
});
