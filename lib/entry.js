'use strict';

// Stored entry bytes as the stores and the middleware read them. The envelope is native
// (native/core/entry_codec): status, headers, body, times, and typed metadata (meta): the kind of
// record (a response, a cache-aside value, a vary record), a namespaced entry's version, a value's
// type, a vary record's header names, a gzip entry's identity length and ETag.
const binding = require('./binding');

// The kind of record each family holds; a record of another kind under a family's name is unusable.
const KINDS = { 'e:': 'response', 'v:': 'value', 'vr:': 'vary' };

/**
 * Decodes stored entry bytes: the entry, or a string saying why they are not one ('outdated' for
 * an entry of an earlier release's format: a MISS, not damage). A namespaced entry's version is
 * on entry.nsVersion (undefined for others).
 * @param {Buffer} bytes
 */
function decodeStored(bytes) {
  const entry = binding.decodeEntry(bytes);
  if (typeof entry !== 'string') entry.nsVersion = entry.meta.ns;
  return entry;
}

/** Whether a decoded entry is of the kind `family` ('e:', 'v:' or 'vr:') holds. */
function ofFamily(entry, family) {
  return entry.meta.kind === KINDS[family];
}

// Response entries held in process memory, decoded once: the in-process store hands back the very
// Buffer it was given (native/core/local_store), so its decoded form is kept beside it for as long
// as the store holds it. Values are not kept decoded: each reader gets its own copy of a value.
const decodedEntries = new WeakMap();

/**
 * A usable copy of `name` in an in-process tier (a binding.LocalStore), decoded, or null. Usable:
 * a valid entry of the namespace version `nsVersion` (undefined: not namespaced) that `accept`
 * (when given) takes. An unusable copy of a non-namespaced name is dropped (of no use to anyone);
 * a namespaced one is kept, since its version may yet turn out current.
 */
function localCopy(local, family, key, nsVersion, accept) {
  const name = family + key;
  const bytes = local.get(name);
  if (bytes === null) return null;
  let entry = family === 'e:' ? decodedEntries.get(bytes) : undefined;
  if (entry === undefined) {
    entry = decodeStored(bytes);
    if (typeof entry !== 'string') {
      entry.bytes = bytes;
      entry.tier = 'local';
      if (family === 'e:') decodedEntries.set(bytes, entry);
    }
  }
  if (typeof entry !== 'string' && entry.nsVersion === nsVersion && ofFamily(entry, family)
    && (accept === null || accept(entry))) {
    return entry;
  }
  if (nsVersion === undefined) local.delete(name);
  return null;
}

module.exports = { decodeStored, ofFamily, localCopy };
