'use strict';

// A Redis client that finds the master through Redis Sentinel and follows it across failovers,
// with the surface of the native single-node RedisClient (lib/binding.js), so that the Redis
// store can use one in place of the other. All the connections are native RedisClients; this
// file only decides where the data connection points.
//
// new SentinelClient({
//   sentinels: [{ host, port }],            // in order
//   name: 'mymaster',
//   endpoint: { username, password, db, tls },   // template for the data nodes (host/port come from the sentinels)
//   sentinelAuth: { username, password },        // for the sentinels ('' = none)
//   sentinelTls: <normalised tls object> | undefined,   // TLS to the sentinels
//   connectTimeout, commandTimeout,
//   preload: [script texts],                      // passed to the data-node client
//   onEvent(type: 'ready'|'error'|'reconnecting'|'end', err?),   // as RedisClient's onEvent
//   onMaster({ host, port }),                     // called every time the master address changes (the store moves its subscriber with it)
// })
// .command(argv, timeoutMs?, flush?) -> Promise   // the data-node client's
// .commandDurable(argv, timeoutMs?) -> Promise    // the command with `WAIT n <ms left>` pipelined right behind it on the same connection, n = client.replicas (0/null: plain command); resolves with the command's reply if WAIT >= n else rejects with an Error code ERR_RESPCACHE_REDIS_UNCONFIRMED
// .status ('connecting'|'ready'|'reconnecting'|'closed'), .master ({host,port} or null), .replicas
// .close() -> Promise<void>   // closes data client and every sentinel connection
//
// How the master is found and followed (Redis's "Sentinel client guidelines"):
// - Discovery rounds, the list of Sentinels, their `+switch-master` subscribers and the replica
//   counts they give are in lib/stores/sentinel-discovery.js; it calls _setMaster() here when a
//   round or a switch names a master. This file owns the connections to the master.
// - The data connection is a RedisClient with expectMaster: its handshake checks ROLE, so a
//   stale answer (a demoted master) is refused there, never written to. A switch retargets it
//   at once (RedisClient.retarget keeps credentials, db and TLS) and calls onMaster.
// - Backstops, for a switch message lost while a subscriber was disconnected: the data
//   connection 'reconnecting' for more than 200 ms, or an error saying it reached a replica,
//   starts discovery rounds (the same back-off) until it is ready again.
//
// Before the first master is known, status is 'connecting' and commands wait for it within
// their own timeout, as a native client's commands wait for its first connection; while
// discovery is between failed rounds they reject ERR_RESPCACHE_REDIS_UNAVAILABLE at once.
const { performance } = require('perf_hooks');
const binding = require('../binding');
const { RedisTimeoutError, RedisUnavailableError, RedisUnconfirmedError, CacheClosedError } = require('../errors');
const discovery = require('./sentinel-discovery');
const { addrKey } = discovery;

// How long the data connection may stay 'reconnecting' before the Sentinels are asked again
// (a switch message normally moves it well before that).
const RECONNECTING_CHECK_MS = 200;
// A subscriber notices a silent connection only through a command it sends.
const KEEPALIVE_MS = 1000;
// Redis may answer WAIT this late after its own timeout (its timers run on the event loop's
// beat): WAIT is given the time left minus this much (at most half of it).
const WAIT_MARGIN_MS = 100;
// The native timeout of the pipelined WAIT lies past the caller's deadline, so that a late
// answer never leaves the connection with a timed-out command in flight; the durable command
// itself settles at the deadline.
const WAIT_LINK_GRACE_MS = 1000;
const MAX_TIMEOUT_MS = 86400000;
// How often the master is asked (ROLE) how many replicas it has in sync: the n of WAIT follows a
// replica that went away or came back between handshakes.
const REPLICAS_CHECK_MS = 5000;
// The errors that mean the data connection reached a replica: the master moved.
const NOT_MASTER = /is a replica, not a master|answered READONLY/;

/** ERR_RESPCACHE_REDIS_UNCONFIRMED, as the cluster client's native rejections of that code. */
function unconfirmedError(message) {
  return new RedisUnconfirmedError(message);
}

function checkAddress(value, name) {
  if (value === null || typeof value !== 'object' || typeof value.host !== 'string' || value.host === '' ||
      !Number.isInteger(value.port) || value.port < 1 || value.port > 65535) {
    throw new TypeError(`Expected ${name} to be { host: string, port: 1..65535 }`);
  }
  return { host: value.host, port: value.port };
}

function checkMs(value, name) {
  if (!Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    throw new RangeError(`Expected ${name} to be 1..${MAX_TIMEOUT_MS} ms`);
  }
  return value;
}

function checkString(value, name) {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new TypeError(`Expected ${name} to be a string`);
  return value;
}

/**
 * Reads the options once: defaults applied, shapes checked, nothing of the caller's kept by
 * reference but the callbacks (and the tls objects, which the addon copies).
 */
function readOptions(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('SentinelClient expects an options object');
  const { sentinels, name, endpoint = {}, sentinelAuth = {}, sentinelTls, connectTimeout, commandTimeout,
    preload = [], onEvent, onMaster } = options;
  if (!Array.isArray(sentinels) || sentinels.length === 0) {
    throw new TypeError('Expected the "sentinels" option to be a non-empty array of { host, port }');
  }
  if (typeof name !== 'string' || name === '') throw new TypeError('Expected the "name" option to be a non-empty string');
  if (endpoint === null || typeof endpoint !== 'object') throw new TypeError('Expected the "endpoint" option to be an object');
  if (sentinelAuth === null || typeof sentinelAuth !== 'object') {
    throw new TypeError('Expected the "sentinelAuth" option to be { username?, password? }');
  }
  if (!Array.isArray(preload) || !preload.every((s) => typeof s === 'string')) {
    throw new TypeError('Expected the "preload" option to be an array of script texts');
  }
  for (const [fn, what] of [[onEvent, 'onEvent'], [onMaster, 'onMaster']]) {
    if (fn !== undefined && typeof fn !== 'function') throw new TypeError(`Expected the "${what}" option to be a function`);
  }
  const db = endpoint.db === undefined ? 0 : endpoint.db;
  if (!Number.isInteger(db) || db < 0) throw new TypeError('Expected "endpoint.db" to be an integer of at least 0');
  const timeouts = {
    connectTimeout: checkMs(connectTimeout === undefined ? 1000 : connectTimeout, 'the "connectTimeout" option'),
    commandTimeout: checkMs(commandTimeout === undefined ? 100 : commandTimeout, 'the "commandTimeout" option'),
  };
  const dataNode = {
    username: checkString(endpoint.username, '"endpoint.username"'),
    password: checkString(endpoint.password, '"endpoint.password"'),
    db,
    ...(endpoint.tls != null && { tls: endpoint.tls }),
    ...timeouts,
  };
  const sentinelNode = {
    username: checkString(sentinelAuth.username, '"sentinelAuth.username"'),
    password: checkString(sentinelAuth.password, '"sentinelAuth.password"'),
    ...(sentinelTls != null && { tls: sentinelTls }),
    ...timeouts,
  };
  return {
    sentinels: sentinels.map((s, i) => checkAddress(s, `"sentinels[${i}]"`)),
    name,
    dataNode,
    sentinelNode,
    preload: [...preload],
    onEvent: onEvent || (() => {}),
    onMaster: onMaster || (() => {}),
    ...timeouts,
  };
}

class SentinelClient {
  /**
   * @param {object} options see the top of this file
   */
  constructor(options) {
    const o = readOptions(options);
    this._name = o.name;
    this._dataNode = o.dataNode;
    this._sentinelNode = o.sentinelNode;
    this._preload = o.preload;
    this._onEvent = o.onEvent;
    this._onMaster = o.onMaster;
    this._connectTimeout = o.connectTimeout;
    this._commandTimeout = o.commandTimeout;
    this._sentinels = [];           // { host, port }, in the order they are asked
    this._subscribers = new Map();  // addrKey -> subscriber RedisClient on that Sentinel
    this._probes = new Set();       // short-lived discovery clients
    this._client = null;            // the data connection, once a master is known
    this._durable = null;           // the connection of commandDurable (opened on first use), same master
    this._durableWaiters = new Set(); // durable commands waiting for its handshake
    this._master = null;
    this._epoch = 0;                // counts master changes: a round started before one is stale
    this._round = null;             // the discovery round under way (a promise), or null
    this._timer = null;             // the next round, or the 'reconnecting' check
    this._timerAt = Infinity;
    this._backoff = 0;
    this._waiters = new Set();      // commands waiting for the first master
    this._closing = null;
    this._lastError = null;         // the last round's failure
    this._fatal = null;             // the data connection could not be made (its options are wrong)
    try {
      // Subscribers first: a "sentinelTls" the addon refuses throws here, from the constructor.
      discovery.addSentinels(this, o.sentinels);
    } catch (err) {
      for (const subscriber of this._subscribers.values()) subscriber.close().catch(() => {});
      throw err;
    }
    this._keepalive = setInterval(() => discovery.pingSentinels(this), KEEPALIVE_MS);
    this._keepalive.unref();
    this._replicasSeen = null; // the master's healthy replicas as the Sentinels see them (null: unknown)
    this._checking = false;
    this._recheck = false; // another replica check is due when the one under way ends
    this._replicasCheck = setInterval(() => discovery.checkReplicas(this), REPLICAS_CHECK_MS);
    this._replicasCheck.unref();
    discovery.startRound(this);
  }

  /** @returns {'connecting'|'ready'|'reconnecting'|'closed'} */
  get status() {
    if (this._closing) return 'closed';
    return this._client === null ? 'connecting' : this._client.status;
  }

  /** @returns {{ host: string, port: number }|null} the master the data connection points at */
  get master() {
    return this._master && { ...this._master };
  }

  /**
   * @returns {number|null} the replicas WAIT waits for: those the Sentinels list for the master
   *   without a down flag (s_down, o_down) (asked with every discovery, whenever a Sentinel
   *   announces a replica event, every REPLICAS_CHECK_MS and after a WAIT fell short), or, before
   *   they answered, those ROLE listed at the handshake.
   *   Not the master's own ROLE later: during a failover the replica being promoted leaves the
   *   old master's list before the switch is announced, and a count that followed it would let
   *   invalidations on the old master go unconfirmed, and be lost.
   */
  get replicas() {
    const client = this._durable || this._client;
    if (client === null) return null;
    return this._replicasSeen !== null ? this._replicasSeen : client.replicas;
  }

  /** @returns {Array<{ host: string, port: number }>} the Sentinels known, in the order they are asked */
  get sentinels() {
    return this._sentinels.map((s) => ({ ...s }));
  }

  /**
   * The data connection's command().
   * @param {Array<string|Buffer>} argv
   * @param {number} [timeoutMs] commandTimeout when absent
   * @param {boolean} [flush]
   * @returns {Promise<any>}
   */
  command(argv, timeoutMs, flush) {
    if (this._closing) return Promise.reject(new CacheClosedError('the Redis client is closed'));
    if (this._client !== null) return this._client.command(argv, timeoutMs, flush);
    return this._firstClient(timeoutMs).then(({ client, left }) => client.command(argv, left, flush));
  }

  /**
   * The command with `WAIT n <ms>` pipelined behind it, n = the replicas of the master's last
   * handshake (a plain command when 0). While the data connection is not ready (before its first
   * handshake, or moving to a new master) it waits for 'ready' within timeoutMs, so that n is
   * the replica count of the master that runs the command. Resolves with the command's reply once WAIT
   * counted n; rejects ERR_RESPCACHE_REDIS_UNCONFIRMED when it counted fewer, failed, or had not
   * answered at the deadline (the master ran the command: a failover may lose it).
   * @param {Array<string|Buffer>} argv
   * @param {number} [timeoutMs] the whole step's time, commandTimeout when absent
   * @returns {Promise<any>}
   */
  commandDurable(argv, timeoutMs) {
    if (this._closing) return Promise.reject(new CacheClosedError('the Redis client is closed'));
    if (this._client === null) {
      return this._firstClient(timeoutMs).then(({ left }) => this.commandDurable(argv, left));
    }
    // A connection of its own, to the same master: Redis holds a connection that sent WAIT until
    // the replicas answer, and the data connection's commands would wait behind it.
    const client = this._durableClient();
    // n comes from the handshake of the connection the command will go on: before the first one
    // it is unknown, and after a move it may be the old master's.
    if (client.status !== 'ready') {
      const ms = timeoutMs === undefined ? this._commandTimeout : checkMs(timeoutMs, 'timeoutMs');
      return this._wait(this._durableWaiters, ms, 'timed out waiting for the connection to Redis')
        .then(({ left }) => this.commandDurable(argv, left));
    }
    const n = this.replicas;
    if (!n) return client.command(argv, timeoutMs);
    const ms = timeoutMs === undefined ? this._commandTimeout : checkMs(timeoutMs, 'timeoutMs');
    const waitMs = Math.max(1, ms - Math.min(WAIT_MARGIN_MS, Math.floor(ms / 2)));
    const reply = client.command(argv, ms);
    const wait = client.command(['WAIT', String(n), String(waitMs)], ms + WAIT_LINK_GRACE_MS, true);
    return new Promise((resolve, reject) => {
      let answered = false;
      let value;
      const timer = setTimeout(() => {
        // The command's own timeout (the same ms) settles it when it has no reply yet.
        if (answered) reject(unconfirmedError(`WAIT ${n} had not answered within ${ms} ms`));
      }, ms);
      timer.unref();
      const finish = (settle, result) => {
        clearTimeout(timer);
        settle(result);
      };
      reply.then((v) => {
        answered = true;
        value = v;
      }, (err) => finish(reject, err));
      wait.then((acked) => {
        if (!answered) return; // the command failed: already rejected with its error
        if (acked >= n) {
          finish(resolve, value);
          return;
        }
        // A replica may have gone: ask the master how many it has now (a retry then waits for those).
        discovery.checkReplicas(this);
        finish(reject, unconfirmedError(`WAIT ${n} counted ${acked} replica(s) within ${waitMs} ms`));
      }, (err) => {
        if (answered) finish(reject, unconfirmedError(`WAIT ${n} failed: ${err.message}`));
      });
    });
  }

  /**
   * Closes the data connection, every Sentinel connection and the timers; resolves once all are
   * closed (the process can then exit on its own). Commands waiting for the first master reject
   * ERR_RESPCACHE_REDIS_CLOSED.
   * @returns {Promise<void>}
   */
  close() {
    if (this._closing) return this._closing;
    clearInterval(this._keepalive);
    clearInterval(this._replicasCheck);
    discovery.clearTimer(this);
    const closed = new CacheClosedError('the Redis client is closed');
    this._settle(this._waiters, 'reject', closed);
    this._settle(this._durableWaiters, 'reject', closed);
    const clients = [this._client, this._durable, ...this._subscribers.values(), ...this._probes].filter(Boolean);
    const hadClient = this._client !== null;
    this._closing = Promise.all(clients.map((c) => c.close())).then(() => {
      // The data connection's own 'end' has been forwarded; without one, say it here.
      if (!hadClient) this._onEvent('end');
    });
    return this._closing;
  }

  // ---- the first master ------------------------------------------------------------------

  /** Resolves with the data client and the time left once one exists, within timeoutMs. */
  _firstClient(timeoutMs) {
    const ms = timeoutMs === undefined ? this._commandTimeout : checkMs(timeoutMs, 'timeoutMs');
    if (this._fatal) return Promise.reject(this._fatal);
    // Between failed rounds nothing is under way to wait for, as a native client in its back-off.
    if (this._round === null) {
      return Promise.reject(this._lastError ||
        new RedisUnavailableError(`no master of "${this._name}" is known yet`));
    }
    return this._wait(this._waiters, ms, `timed out waiting for the Sentinels to name the master of "${this._name}"`)
      .then(({ value, left }) => ({ client: value, left }));
  }

  /** A waiter in `set` for `ms`: resolves with { value, left } when settled, else TIMEOUT. */
  _wait(set, ms, timeoutMessage) {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (value) => {
          clearTimeout(waiter.timer);
          resolve({ value, left: Math.max(1, Math.round(ms - (performance.now() - started))) });
        },
        reject: (err) => {
          clearTimeout(waiter.timer);
          reject(err);
        },
      };
      waiter.timer = setTimeout(() => {
        set.delete(waiter);
        reject(new RedisTimeoutError(timeoutMessage));
      }, ms);
      set.add(waiter);
    });
  }

  _settle(set, how, value) {
    const waiters = [...set];
    set.clear();
    for (const waiter of waiters) waiter[how](value);
  }

  // ---- following the master ---------------------------------------------------------------

  /** The connection of confirmed writes, opened at the first one, to the data connection's master. */
  _durableClient() {
    if (this._durable === null) {
      this._durable = new binding.RedisClient({
        ...this._dataNode,
        ...this._master,
        expectMaster: true,
        onEvent: (type, err) => {
          if (type === 'ready') {
            this._settle(this._durableWaiters, 'resolve');
          } else if (type === 'error' && NOT_MASTER.test(err.message)) {
            discovery.schedule(this, 0);
          }
          // Its faults are the data connection's too, which reports them.
        },
      });
    }
    return this._durable;
  }

  /** Points the data connection at `addr` (created on the first call) and tells onMaster. */
  _setMaster(addr) {
    if (this._master !== null && addrKey(this._master) === addrKey(addr)) return;
    this._master = { ...addr };
    this._epoch++;
    if (this._client === null) {
      try {
        this._client = new binding.RedisClient({
          ...this._dataNode,
          ...addr,
          expectMaster: true,
          ...(this._preload.length > 0 && { preload: this._preload }),
          onEvent: (type, err) => this._onDataEvent(type, err),
        });
      } catch (err) {
        // Options the addon refuses (a TLS key that does not parse) fail every later attempt
        // the same way: no more rounds; commands reject with this error.
        this._fatal = err;
        discovery.clearTimer(this);
        this._settle(this._waiters, 'reject', err);
        this._onEvent('error', err);
        return;
      }
      this._settle(this._waiters, 'resolve', this._client);
    } else {
      this._client.retarget(addr);
    }
    // Confirmed writes follow in the same step: both connections always point at one master.
    if (this._durable !== null) this._durable.retarget(addr);
    // The old master's count is not the new one's: the Sentinels are asked again.
    this._replicasSeen = null;
    discovery.checkReplicas(this);
    try {
      this._onMaster({ ...addr });
    } catch (err) {
      this._onEvent('error', err);
    }
  }

  _onDataEvent(type, err) {
    if (type === 'ready') {
      discovery.clearTimer(this);
      this._backoff = 0;
    } else if (type === 'error' && NOT_MASTER.test(err.message)) {
      discovery.schedule(this, 0);
    } else if (type === 'reconnecting') {
      discovery.schedule(this, RECONNECTING_CHECK_MS);
    }
    this._onEvent(type, err);
  }
}

module.exports = { SentinelClient };
