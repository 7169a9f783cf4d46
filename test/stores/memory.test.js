'use strict';

// The shared store suite on the embedded store (this process only, no Redis).
const { runStoreSuite } = require('./store-suite');
const { MemoryStore } = require('../../lib/stores/memory');
const { localTier, memoryIndexSize } = require('../helpers/internals');
const { once } = require('../helpers/wait');

const MAX_BYTES = 64 * 1024 * 1024;

runStoreSuite('in-process (embedded)', {
  shared: false,
  tier: 'local',
  setup() {},
  teardown() {},
  async open({ report }) {
    const store = new MemoryStore({ maxBytes: MAX_BYTES, ttlMs: Infinity }, report);
    await once(store, 'ready');
    const local = localTier(store);
    return {
      store,
      plant: (name, bytes, ttlMs) => { local.set(name, bytes, ttlMs); },
      holds: (name) => local.get(name) !== null,
      indexSize: (suffix) => memoryIndexSize(store, suffix),
    };
  },
});
