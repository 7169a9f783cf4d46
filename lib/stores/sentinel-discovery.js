'use strict';

// How a SentinelClient (lib/stores/sentinel.js) finds the master and hears of its moves: all that
// it asks of the Sentinels and hears from them (Redis's "Sentinel client guidelines"). Each
// function takes the client, whose state it reads and updates.
// - Discovery rounds: the Sentinels are asked in order, each over a short-lived connection,
//   `SENTINEL get-master-addr-by-name <name>` with `SENTINEL sentinels <name>` (and `SENTINEL
//   replicas <name>`) pipelined behind it. The first answer wins, that Sentinel moves to the front
//   of the list, and the Sentinels it knows that the list lacks are appended. When none answers,
//   onEvent('error') gets an ERR_RESPCACHE_REDIS_UNAVAILABLE naming each one tried, and discovery
//   is retried after a back-off of 100 ms doubling to 1 s.
// - Each known Sentinel has a subscriber connection on `+switch-master`; a switch of our name
//   moves the client's connections at once (client._setMaster). Every Sentinel publishes the
//   switch: duplicates are dropped by address. The subscribers are pinged every second.
// - The replicas WAIT counts: those the Sentinels list for the master without a down flag
//   (s_down, o_down; healthyReplicas says why "disconnected" is not one), asked again whenever
//   a Sentinel announces a replica of our name found, down or back (+slave, +sdown, -sdown,
//   +convert-to-slave): a master that comes back as a replica is then counted within
//   milliseconds, not at the next periodic check, so that an invalidation confirmed after it
//   rejoined has reached it too.
const { performance } = require('perf_hooks');
const binding = require('../binding');
const { RedisUnavailableError, CacheClosedError } = require('../errors');

const SWITCH_CHANNEL = '+switch-master';
// Replica events: "slave <ip:port> <ip> <port> @ <master name> <master ip> <master port>".
const REPLICA_CHANNELS = ['+slave', '+sdown', '-sdown', '+convert-to-slave'];
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 1000;

/**
 * "host:port", the key addresses are compared and deduplicated by.
 * @param {{ host: string, port: number }} address
 * @returns {string}
 */
const addrKey = ({ host, port }) => `${host}:${port}`;

/**
 * Asks the Sentinels now, unless a round is under way (its end schedules what follows).
 * @param {SentinelClient} client
 * @returns {void} the answer goes to client._setMaster(), a failure to onEvent('error')
 */
function startRound(client) {
  if (client._round !== null || client._closing || client._fatal) return;
  clearTimer(client);
  const epoch = client._epoch;
  client._round = ask(client).then((answer) => {
    client._round = null;
    if (client._closing) return;
    // A switch applied meanwhile is newer than this answer.
    if (client._epoch === epoch) {
      client._setMaster(answer.master);
      if (answer.replicas !== null) client._replicasSeen = answer.replicas;
    }
    if (!client._fatal) afterRound(client);
  }, (err) => {
    client._round = null;
    if (client._closing) return;
    client._lastError = err;
    client._settle(client._waiters, 'reject', err);
    client._onEvent('error', err);
    afterRound(client);
  });
}

/** Another round after the back-off while the data connection is not serving (or absent). */
function afterRound(client) {
  const status = client._client === null ? 'none' : client._client.status;
  if (status === 'ready' || status === 'connecting') {
    client._backoff = 0;
    return;
  }
  client._backoff = client._backoff === 0 ? FIRST_BACKOFF_MS : Math.min(client._backoff * 2, MAX_BACKOFF_MS);
  schedule(client, client._backoff);
}

/**
 * Starts a round in `ms` (keeps an earlier one already planned).
 * @param {SentinelClient} client
 * @param {number} ms
 * @returns {void}
 */
function schedule(client, ms) {
  if (client._round !== null || client._closing) return;
  const at = performance.now() + ms;
  if (client._timer !== null && client._timerAt <= at) return;
  clearTimer(client);
  client._timerAt = at;
  client._timer = setTimeout(() => {
    client._timer = null;
    client._timerAt = Infinity;
    startRound(client);
  }, ms);
}

/**
 * Cancels the round planned by schedule(), if any.
 * @param {SentinelClient} client
 * @returns {void}
 */
function clearTimer(client) {
  if (client._timer !== null) clearTimeout(client._timer);
  client._timer = null;
  client._timerAt = Infinity;
}

/**
 * One round: the Sentinels in order until one names the master.
 * @returns {Promise<{ host: string, port: number }>} rejects RedisUnavailableError naming each Sentinel tried
 */
async function ask(client) {
  const tried = [];
  for (const sentinel of [...client._sentinels]) {
    if (client._closing) break;
    let answer;
    try {
      answer = await askOne(client, sentinel);
    } catch (err) {
      tried.push(`${addrKey(sentinel)} (${err.message})`);
      continue;
    }
    // The one that answered is asked first next time.
    toFront(client, client._sentinels.indexOf(sentinel));
    addSentinels(client, answer.others);
    return answer;
  }
  throw new RedisUnavailableError(`no Sentinel named the master of "${client._name}"; tried ${tried.join(', ')}`);
}

/** get-master-addr-by-name and the other Sentinels, over a short-lived connection. */
async function askOne(client, sentinel) {
  if (client._closing) throw new CacheClosedError('the Redis client is closed');
  // The connection's own error says why (refused, WRONGPASS, a TLS failure); the commands
  // queued for it only fail "could not connect".
  let failure = null;
  const probe = new binding.RedisClient({
    ...client._sentinelNode,
    ...sentinel,
    onEvent: (type, err) => { if (type === 'error' && failure === null) failure = err; },
  });
  client._probes.add(probe);
  // The commands wait for the connection within their timeout; a refused one fails them at once.
  const timeout = client._connectTimeout + client._commandTimeout;
  try {
    const [addr, others, replicas] = await Promise.all([
      probe.command(['SENTINEL', 'get-master-addr-by-name', client._name], timeout),
      probe.command(['SENTINEL', 'sentinels', client._name], timeout).catch(() => []),
      probe.command(['SENTINEL', 'replicas', client._name], timeout, true).catch(() => null),
    ]).catch((err) => {
      throw failure || err;
    });
    if (!Array.isArray(addr) || addr.length !== 2) throw new Error(`it does not know "${client._name}"`);
    const master = validAddress(String(addr[0]), String(addr[1]));
    if (master === null) throw new Error(`it answered no address: ${addr.join(' ')}`);
    return { master, others: parseSentinels(others), replicas: healthyReplicas(replicas) };
  } finally {
    client._probes.delete(probe);
    probe.close().catch(() => {});
  }
}

/**
 * Appends the Sentinels the list lacks and subscribes to each one's switches.
 * @param {SentinelClient} client
 * @param {Array<{ host: string, port: number }>} list
 * @returns {void} throws what the addon throws for options it refuses (a bad "sentinelTls")
 */
function addSentinels(client, list) {
  for (const sentinel of list) {
    const key = addrKey(sentinel);
    if (client._subscribers.has(key)) continue;
    client._sentinels.push(sentinel);
    subscribe(client, sentinel, key);
  }
}

function subscribe(client, sentinel, key) {
  const subscriber = new binding.RedisClient({
    ...client._sentinelNode,
    ...sentinel,
    subscriber: true,
    onEvent: (type, err, channel, payload) => {
      if (type !== 'message') return; // a Sentinel that is down is one of several: its errors are not the data connection's
      if (String(channel) === SWITCH_CHANNEL) onSwitch(client, payload.toString(), key);
      else onReplicaEvent(client, payload.toString());
    },
  });
  client._subscribers.set(key, subscriber);
  for (const channel of [SWITCH_CHANNEL, ...REPLICA_CHANNELS]) {
    subscriber.subscribe(channel).catch(() => { /* subscribed again on every reconnect */ });
  }
}

/** A replica of our master found, down, back or reconfigured: count them again. */
function onReplicaEvent(client, message) {
  const words = message.split(' ');
  if (words[0] !== 'slave' || words[4] !== '@' || words[5] !== client._name || client._closing) return;
  checkReplicas(client);
}

/** "<name> <old ip> <old port> <new ip> <new port>", published by the Sentinel at `from` */
function onSwitch(client, message, from) {
  const [name, , , host, port] = message.split(' ');
  if (name !== client._name || client._closing) return;
  const to = validAddress(host, port);
  if (to === null) return;
  // It knows the new master: asked first from now on. (Another may still name the old one
  // for a while: Sentinels learn a switch from each other's hellos.)
  toFront(client, client._sentinels.findIndex((s) => addrKey(s) === from));
  client._setMaster(to);
}

function toFront(client, index) {
  if (index > 0) client._sentinels.unshift(...client._sentinels.splice(index, 1));
}

/**
 * Asks the Sentinels, in order, how many healthy replicas the master has now.
 * @param {SentinelClient} client
 * @returns {void} the count goes to client._replicasSeen
 */
function checkReplicas(client) {
  if (client._master === null || client._closing) return;
  if (client._checking) {
    // The check under way may have read the Sentinels before what prompted this one: another after it.
    client._recheck = true;
    return;
  }
  const epoch = client._epoch;
  client._checking = true;
  client._recheck = false;
  (async () => {
    for (const sentinel of [...client._sentinels]) {
      if (client._closing) return; // close() ends every probe: none may start after it
      const answer = await askOne(client, sentinel).catch(() => null);
      if (answer === null) continue;
      // Only one that names the master the connections point at (another may lag behind).
      if (epoch === client._epoch && addrKey(answer.master) === addrKey(client._master)) {
        client._replicasSeen = answer.replicas;
        return;
      }
    }
  })().finally(() => {
    client._checking = false;
    if (client._recheck) checkReplicas(client);
  });
}

/**
 * Sends a PING on every Sentinel subscriber that is ready, so that a silent connection is noticed.
 * @param {SentinelClient} client
 * @returns {void}
 */
function pingSentinels(client) {
  for (const subscriber of client._subscribers.values()) {
    if (subscriber.status === 'ready') subscriber.command(['PING']).catch(() => {});
  }
}

/**
 * How many replicas SENTINEL replicas lists without a down flag (null: no list). The promoted
 * one of a failover under way still counts for the old master, so that WAIT there falls short
 * until the switch. A "disconnected" flag does not take one off: every Sentinel shows the replica
 * being promoted so for the rest of a forced failover (about a second, measured), while the old
 * master still takes writes; a count of 0 then let invalidations go to it unconfirmed, and the
 * failover lost them (the forced-failover fault test: wrong HITs in 3 of 24 rounds). A replica
 * that died is taken off once the Sentinels mark it down (s_down).
 */
function healthyReplicas(reply) {
  if (!Array.isArray(reply)) return null;
  let count = 0;
  for (const flat of reply) {
    if (!Array.isArray(flat)) continue;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (String(flat[i]) === 'flags' && !/s_down|o_down/.test(String(flat[i + 1]))) count++;
    }
  }
  return count;
}

/** SENTINEL sentinels' reply (one flat [field, value, ...] array per Sentinel) as addresses. */
function parseSentinels(reply) {
  const out = [];
  if (!Array.isArray(reply)) return out;
  for (const flat of reply) {
    if (!Array.isArray(flat)) continue;
    const fields = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
    const addr = validAddress(fields.ip, fields.port);
    if (addr !== null) out.push(addr);
  }
  return out;
}

/** { host, port } from a Sentinel's strings, or null when they are not an address. */
function validAddress(host, port) {
  const number = Number(port);
  if (!host || !/^\d+$/.test(port) || number < 1 || number > 65535) return null;
  return { host, port: number };
}

module.exports = { startRound, schedule, clearTimer, addSentinels, checkReplicas, pingSentinels, addrKey,
  healthyReplicas };
