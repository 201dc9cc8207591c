/**
 * The RESP commands about the connection and the server rather than keys: AUTH, ACL WHOAMI,
 * HELLO, CLIENT, PING, SUBSCRIBE and its kin, SAVE, BGSAVE, SLOWLOG, and INFO's text. The command table
 * is resp-commands.ts's.
 *
 * @module
 */
import { sampleExpiry } from '../commands/scan.ts';
import { cacheStats } from '../commands/stats.ts';
import type { Principal } from './credentials.ts';
import { type Handler, intArg, type RespContext, SYNTAX, upper } from './resp-context.ts';
import type { SaveReply } from './save-messages.ts';
import { readSlowLog, resetSlowLog, slowLogLength } from './slow-log.ts';

/**
 * INFO keyspace's `db0:` line. `expires` and `avg_ttl` (ms) are estimated from a sample of
 * up to 256 keys (commands/scan.ts sampleExpiry): the table counts no expiring keys.
 */
function keyspaceLine(c: RespContext, items: number): string {
  const e = sampleExpiry(c.cx, 256);
  const expires = e.sampled ? Math.round((items * e.expiring) / e.sampled) : 0;
  return `db0:keys=${items},expires=${expires},avg_ttl=${e.meanTtlMs}`;
}

export function infoText(c: RespContext, section: string): string {
  const s = cacheStats(c.cx, c.server.memoryLimitBytes);
  const up = Math.floor((Date.now() - c.server.startedAtMs) / 1000);
  const parts: Record<string, string[]> = {
    server: ['redis_version:7.0.0', 'sabcache_version:0.1.0', 'redis_mode:standalone', `process_id:${process.pid}`, `tcp_port:${c.server.port}`, `uptime_in_seconds:${up}`, `uptime_in_days:${Math.floor(up / 86400)}`],
    clients: [`connected_clients:${c.server.connectedClients()}`],
    memory: [`used_memory:${s.memoryUsedBytes}`, `maxmemory:${s.memoryLimitBytes}`, 'maxmemory_policy:s3fifo'],
    stats: [`total_commands_processed:${c.server.commandsProcessed()}`, `rejected_auth:${c.server.authFailures()}`, `rejected_connections:${c.server.rejectedConnections()}`, `rejected_rate_limit:${c.server.rejectedRateLimit()}`, `instantaneous_ops_per_sec:${c.server.opsPerSecond()}`, `keyspace_hits:${s.hits}`, `keyspace_misses:${s.misses}`, `evicted_keys:${s.evictions}`, `expired_keys:${s.expired}`],
    persistence: ['loading:0', `rdb_last_save_time:${c.server.saves.lastSaveSeconds()}`],
    keyspace: s.items > 0 ? [keyspaceLine(c, s.items)] : [],
    // Redis 7's latencystats, by protocol and operation class instead of by command (latency-stats.ts).
    latencystats: Object.entries(c.server.latency()).flatMap(([protocol, byClass]) => Object.entries(byClass).map(([cls, l]) =>
      `latency_percentiles_usec_${protocol}_${cls}:p50=${l.p50Us.toFixed(3)},p99=${l.p99Us.toFixed(3)},p99.9=${l.p999Us.toFixed(3)}`)),
  };
  // As Redis: latencystats only when asked for, or with all / everything.
  const names = section === '' || section === 'default' ? Object.keys(parts).filter((n) => n !== 'latencystats') : section === 'all' || section === 'everything' ? Object.keys(parts) : [section];
  return names.filter((n) => parts[n]).map((n) => `# ${n[0].toUpperCase()}${n.slice(1)}\r\n${parts[n].join('\r\n')}\r\n`).join('\r\n');
}

export function clientLine(c: RespContext): string {
  return `id=${c.session.id} addr=${c.session.addr} name=${c.session.name} db=0 resp=${c.w.protocol}`;
}

const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

/**
 * Checks a username and password (or a token: a password of three dot-separated parts when
 * tokens are configured, with the username `default`, `token` or the token's `sub`).
 */
function authenticate(c: RespContext, user: string, password: string): Principal | null {
  const creds = c.server.credentials!;
  if (/^[\w-]+\.[\w-]+\.[\w-]*$/.test(password)) {
    const p = creds.checkToken(password);
    if (p && (user === 'default' || user === 'token' || user === p.name)) return p;
  }
  return creds.checkPassword(user, password);
}

/**
 * AUTH's outcome: on success the session's principal and `onOk`; on failure WRONGPASS, sent
 * only after the delay for the client's address (the connection waits, others do not).
 */
function authReply(c: RespContext, p: Principal | null, onOk: () => void): void {
  if (p) {
    c.session.principal = p;
    c.server.authSucceeded(c.session.addr);
    return onOk();
  }
  c.session.wait = c.server.authFailed(c.session.addr).then(() => c.w.error(WRONGPASS));
}

export const AUTH: Handler = (c, argv) => {
  if (argv.length > 3) return c.w.error(SYNTAX);
  if (!c.server.credentials) return c.w.error('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
  const [user, password] = argv.length === 3 ? [argv[1].toString(), argv[2].toString()] : ['default', argv[1].toString()];
  authReply(c, authenticate(c, user, password), () => c.w.ok());
};

export const ACL: Handler = (c, argv) => {
  if (upper(argv[1]) === 'WHOAMI' && argv.length === 2) return c.w.bulk(c.session.principal?.name ?? 'default');
  c.w.error(`ERR unknown subcommand '${argv[1].toString().slice(0, 40)}'. sabcache answers ACL WHOAMI only (users: --users-file)`);
};

export const HELLO: Handler = (c, argv) => {
  if (argv.length > 1) {
    const v = intArg(argv[1]);
    if (v !== 2 && v !== 3) return c.w.error('NOPROTO sorry, this protocol version is not supported.');
    let auth: [string, string] | null = null;
    let name: string | null = null;
    for (let i = 2; i < argv.length; i++) {
      const o = upper(argv[i]);
      if (o === 'SETNAME' && i + 1 < argv.length) name = argv[++i].toString();
      else if (o === 'AUTH' && i + 2 < argv.length) auth = [argv[++i].toString(), argv[++i].toString()];
      else return c.w.error(SYNTAX);
    }
    if (auth !== null) {
      if (!c.server.credentials) return c.w.error('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
      // The protocol switches, and the name is set, only once the credential is good.
      return authReply(c, authenticate(c, auth[0], auth[1]), () => {
        if (name !== null) c.session.name = name;
        c.w.protocol = v;
        helloMap(c);
      });
    }
    if (c.server.credentials && !c.session.principal) return c.w.error('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
    if (name !== null) c.session.name = name;
    c.w.protocol = v;
  }
  helloMap(c);
};

/** HELLO's answer. */
export function helloMap(c: RespContext): void {
  c.w.map(7);
  c.w.bulk('server'); c.w.bulk('redis');
  c.w.bulk('version'); c.w.bulk('7.0.0');
  c.w.bulk('proto'); c.w.integer(c.w.protocol);
  c.w.bulk('id'); c.w.integer(c.session.id);
  c.w.bulk('mode'); c.w.bulk('standalone');
  c.w.bulk('role'); c.w.bulk('master');
  c.w.bulk('modules'); c.w.array(0);
}

export const CLIENT: Handler = (c, argv) => {
  const sub = upper(argv[1]);
  if (sub === 'SETNAME' && argv.length === 3) {
    if (/[\s]/.test(argv[2].toString())) return c.w.error('ERR Client names cannot contain spaces, newlines or special characters.');
    c.session.name = argv[2].toString();
    return c.w.ok();
  }
  if (sub === 'GETNAME') return c.w.bulk(c.session.name === '' ? null : c.session.name);
  if (sub === 'ID') return c.w.integer(c.session.id);
  if (sub === 'INFO') return c.w.verbatim(`${clientLine(c)}\n`);
  if (sub === 'LIST') return c.w.verbatim(`${clientLine(c)}\n`);
  if (sub === 'SETINFO') return c.w.ok(); // node-redis and redis-cli send it at start
  c.w.error(`ERR unknown subcommand '${argv[1].toString()}'. Try CLIENT HELP.`);
};

/** Redis's reply to SAVE / BGSAVE for an outcome from the main thread. */
function saveReply(c: RespContext, r: SaveReply): void {
  switch (r.status) {
    case 'written': return c.w.ok();
    case 'started': return c.w.simple('Background saving started');
    case 'scheduled': return c.w.simple('Background saving scheduled');
    case 'in-progress': return c.w.error('ERR Background save already in progress');
    case 'no-data-dir': return c.w.error('ERR this server has no --data-dir: nothing to save to (SABCACHE_ERR_NO_DATA_DIR)');
    default: return c.w.error(`ERR snapshot failed: ${r.message ?? 'unknown error'} (SABCACHE_ERR_SNAPSHOT_FAILED)`);
  }
}

/** SAVE: a snapshot written before the reply (the connection waits; other clients do not). */
export const SAVE: Handler = (c) => {
  c.session.wait = c.server.saves.save('wait').then((r) => saveReply(c, r));
};

/** BGSAVE [SCHEDULE]: starts a snapshot and answers at once. */
export const BGSAVE: Handler = (c, argv) => {
  if (argv.length > 2 || (argv.length === 2 && upper(argv[1]) !== 'SCHEDULE')) return c.w.error(SYNTAX);
  c.session.wait = c.server.saves.save(argv.length === 2 ? 'schedule' : 'background').then((r) => saveReply(c, r));
};

/** SUBSCRIBE / PSUBSCRIBE: one confirmation per channel, as Redis sends them. */
export const SUBSCRIBE = (pattern: boolean): Handler => (c, argv) => {
  for (let i = 1; i < argv.length; i++) {
    const n = pattern ? c.server.pubsub.psubscribe(c.session.subscriber, argv[i]) : c.server.pubsub.subscribe(c.session.subscriber, argv[i]);
    c.w.push(3);
    c.w.bulk(pattern ? 'psubscribe' : 'subscribe');
    c.w.bulk(argv[i]);
    c.w.integer(n);
  }
  c.session.subscribed = c.server.pubsub.count(c.session.subscriber) > 0;
};

/** UNSUBSCRIBE / PUNSUBSCRIBE [names]: one confirmation per name left (all when none is named). */
export const UNSUBSCRIBE = (pattern: boolean): Handler => (c, argv) => {
  const each = (name: string | null, n: number): void => {
    c.w.push(3);
    c.w.bulk(pattern ? 'punsubscribe' : 'unsubscribe');
    c.w.bulk(name === null ? null : Buffer.from(name, 'latin1'));
    c.w.integer(n);
  };
  if (pattern) c.server.pubsub.punsubscribe(c.session.subscriber, argv.slice(1), each);
  else c.server.pubsub.unsubscribe(c.session.subscriber, argv.slice(1), each);
  c.session.subscribed = c.server.pubsub.count(c.session.subscriber) > 0;
};

/** What a RESP2 connection with subscriptions may run (Redis's "in this context"). */
export const SUBSCRIBED_CONTEXT = new Set(['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe', 'ping', 'quit', 'reset']);

export const PING: Handler = (c, a) => {
  if (a.length > 2) return c.w.error("ERR wrong number of arguments for 'ping' command");
  if (c.session.subscribed && c.w.protocol === 2) {
    // Subscribed (RESP2): a ping is answered in the form messages take.
    c.w.array(2);
    c.w.bulk('pong');
    return c.w.bulk(a.length === 2 ? a[1] : '');
  }
  if (a.length === 2) return c.w.bulk(a[1]);
  c.w.simple('PONG');
};

/**
 * SLOWLOG GET [count] (default 10; -1: all) / LEN / RESET / HELP, over every server
 * thread's slow log (slow-log.ts). An entry is Redis's six fields: id, unix seconds,
 * microseconds, arguments, client address, client name.
 */
export const SLOWLOG: Handler = (c, argv) => {
  const sub = upper(argv[1]);
  const log = c.server.slowLog;
  if (sub === 'HELP' && argv.length === 2) {
    const lines = ['SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'GET [<count>]', '    Return top <count> entries from the slowlog (default: 10, -1 mean all).', 'LEN', '    Return the length of the slowlog.', 'RESET', '    Reset the slowlog.'];
    c.w.array(lines.length);
    for (const l of lines) c.w.simple(l);
    return;
  }
  if (sub === 'LEN' && argv.length === 2) return c.w.integer(log ? slowLogLength(log) : 0);
  if (sub === 'RESET' && argv.length === 2) {
    if (log) resetSlowLog(log);
    return c.w.ok();
  }
  if (sub === 'GET' && argv.length <= 3) {
    let count = 10;
    if (argv.length === 3) {
      const n = intArg(argv[2]);
      if (typeof n !== 'number' || n < -1) return c.w.error('ERR count should be greater than or equal to -1');
      count = n;
    }
    const entries = log ? readSlowLog(log, count) : [];
    c.w.array(entries.length);
    for (const e of entries) {
      c.w.array(6);
      c.w.integer(e.id);
      c.w.integer(Math.floor(e.atMs / 1000));
      c.w.integer(e.durationUs);
      c.w.array(e.args.length);
      for (const a of e.args) c.w.bulk(a);
      c.w.bulk(e.client);
      c.w.bulk(e.clientName);
    }
    return;
  }
  c.w.error(`ERR unknown subcommand or wrong number of arguments for '${argv[1].toString('latin1').slice(0, 40)}'. Try SLOWLOG HELP.`);
};
