'use strict';

// Stored entry bytes as the stores and the middleware read them (the envelope itself is native:
// native/core/entry_codec).
const binding = require('./binding');
const { NS_HEADER } = require('./http/storability');

/**
 * Decodes stored entry bytes: the entry, or a string saying why they are not one. A namespaced
 * entry's version is on entry.nsVersion.
 * @param {Buffer} bytes
 */
function decodeStored(bytes) {
  const entry = binding.decodeEntry(bytes);
  if (typeof entry !== 'string' && entry.headers[0] === NS_HEADER) {
    entry.nsVersion = entry.headers[1];
    entry.headers = entry.headers.slice(2);
  }
  return entry;
}

/**
 * A usable copy of `name` in an in-process tier (a binding.LocalStore), decoded, or null. Usable:
 * a valid entry of the namespace version `nsVersion` (undefined: not namespaced) that `accept`
 * (when given) takes. An unusable copy of a non-namespaced name is dropped (of no use to anyone);
 * a namespaced one is kept, since its version may yet turn out current.
 */
function localCopy(local, name, nsVersion, accept) {
  const bytes = local.get(name);
  if (bytes === null) return null;
  const entry = decodeStored(bytes);
  if (typeof entry !== 'string' && entry.nsVersion === nsVersion && (accept === null || accept(entry))) {
    entry.bytes = bytes;
    entry.tier = 'local';
    return entry;
  }
  if (nsVersion === undefined) local.delete(name);
  return null;
}

module.exports = { decodeStored, localCopy };
