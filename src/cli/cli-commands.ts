/**
 * The commands of `sabcache-cli` (the entry is sabcache-cli.ts): a command-line client for
 * a sabcache server, over its HTTP API.
 *
 * One-shot: `sabcache-cli get KEY`, `set KEY VALUE [--ttl N] [--if-absent | --if-present |
 * --if-version V]`, `del KEY`, `incr KEY [BY]`, `decr KEY [BY]`, `ttl KEY`,
 * `expire KEY SECONDS`, `persist KEY`, `scan [PREFIX] [--count N]`, `stats`.
 * Interactive (no command): a REPL with history (~/.sabcache_cli_history) and `help`.
 *
 * Output is plain text, or JSON with `--json` (one object per command, for scripts).
 * Exit codes: 0 done; 1 the key was absent (get, del, ttl, expire, persist) or a condition
 * did not hold (set); 2 an error (bad usage, the server's error, no connection).
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { HttpClient } from '../client/http-client.ts';
import { ConnectionError, SabcacheError, UsageError } from '../errors.ts';
import type { ClusterNode } from '../client/node-router.ts';

/** The help text. */
export const HELP = `sabcache-cli: talk to a sabcache server

usage: sabcache-cli [--url URL | --nodes LIST] [--admin-url URL] [--user NAME] [--json] [command [args]]
       (no command: interactive)

commands:
  get KEY                       print the value (exit 1 if absent)
  set KEY VALUE [--ttl SECONDS] [--if-absent | --if-present | --if-version VERSION]
                                store; print the new version (exit 1 if a condition failed)
  del KEY                       delete (exit 1 if absent)
  incr KEY [BY]                 add BY (default 1), print the result
  decr KEY [BY]                 subtract BY (default 1), print the result
  ttl KEY                       seconds left; -1 never expires, -2 absent
  expire KEY SECONDS            new TTL (0 deletes)
  persist KEY                   remove the TTL
  scan [PREFIX] [--count N]     list keys (all pages)
  stats                         server counters (admin port)
  help                          this text

options:
  --url URL         data port (env SABCACHE_URL)          default http://127.0.0.1:7070
  --nodes LIST      several nodes, name=url,name=url (env SABCACHE_NODES): each key
                    to its node by ketama, as twemproxy with the same names (docs/scale-out.md)
  --admin-url URL   admin port (env SABCACHE_ADMIN_URL)   default http://127.0.0.1:7071
  --user NAME       a user of the server's --users-file (env SABCACHE_USER); its
                    password from env SABCACHE_PASSWORD (not a flag: ps shows flags)
  --json            print JSON, one object per command
  env SABCACHE_TOKEN a signed token instead of a user (Authorization: Bearer)
  https:// URLs use TLS (a private CA: NODE_EXTRA_CA_CERTS=ca.pem)
`;

/** The outcome of one command: what to print and the exit code. */
export interface Outcome {
  code: 0 | 1 | 2;
  text: string;
  json: unknown;
}

/** Flags of sabcache-cli (node:util parseArgs). */
export const OPTIONS = {
  url: { type: 'string' }, nodes: { type: 'string' }, 'admin-url': { type: 'string' }, user: { type: 'string' }, json: { type: 'boolean' }, ttl: { type: 'string' },
  'if-absent': { type: 'boolean' }, 'if-present': { type: 'boolean' }, 'if-version': { type: 'string' }, count: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A usage error (exit 2). */
export function usage(message: string): Outcome {
  return { code: 2, text: `error: ${message} (see help)`, json: { error: { code: 'SABCACHE_ERR_USAGE', message } } };
}

function wholeNumber(name: string, text: string | undefined, fallback?: number): number {
  if (text === undefined && fallback !== undefined) return fallback;
  if (text === undefined || !/^-?\d+$/.test(text)) throw new UsageError(`${name} must be a whole number, got ${JSON.stringify(text ?? '')}`);
  return Number(text);
}

/** Where the CLI connects and as whom, unless a command's flags say otherwise. */
export interface CliDefaults {
  url: string;
  adminUrl: string;
  /** A user of the server's users file (with `password`), or undefined. */
  user?: string;
  password?: string;
  /** A signed token, or undefined. */
  token?: string;
  /** Several nodes instead of `url`: `name=url,name=url` (or bare URLs), routed by ketama (node-router.ts). */
  nodes?: string;
}

/**
 * `--nodes`' text as the client's node list: comma-separated `name=url` (the name twemproxy's
 * config gives the node) or bare URLs.
 * @throws UsageError (`SABCACHE_ERR_USAGE`) for an empty list or an entry that is not a URL.
 */
export function parseNodes(text: string): ClusterNode[] {
  const nodes = text.split(',').map((x) => x.trim()).filter(Boolean).map((entry) => {
    const eq = entry.indexOf('=');
    const node: ClusterNode = eq > 0 ? { name: entry.slice(0, eq), url: entry.slice(eq + 1) } : { url: entry };
    if (!/^https?:\/\/[^/]+/.test(node.url)) throw new UsageError(`--nodes: ${JSON.stringify(entry)} is not name=http://host:port or a URL`);
    return node;
  });
  if (nodes.length === 0) throw new UsageError('--nodes: no node given');
  return nodes;
}

/** The credentials of the HTTP client: a user (flag or default) with its password, else the token. */
function credentialsOf(user: string | undefined, d: CliDefaults): { username?: string; password?: string; token?: string } {
  if (user !== undefined) {
    if (d.password === undefined) throw new UsageError('--user needs its password in the environment variable SABCACHE_PASSWORD');
    return { username: user, password: d.password };
  }
  return d.token !== undefined ? { token: d.token } : {};
}

/** Runs one command (already split into words). */
export async function runCommand(words: string[], defaults: CliDefaults = { url: 'http://127.0.0.1:7070', adminUrl: 'http://127.0.0.1:7071' }): Promise<Outcome> {
  let parsed;
  try {
    parsed = parseArgs({ args: words, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    return usage((e as Error).message);
  }
  const { values: v, positionals: [command, ...args] } = parsed;
  let credentials;
  try {
    credentials = credentialsOf(v.user ?? defaults.user, defaults);
  } catch (e) {
    return usage((e as Error).message);
  }
  const nodesText = v.nodes ?? (v.url === undefined ? defaults.nodes : undefined);
  let client: HttpClient;
  try {
    client = nodesText !== undefined ? new HttpClient({ nodes: parseNodes(nodesText), ...credentials }) : new HttpClient({ url: v.url ?? defaults.url, ...credentials });
  } catch (e) {
    return usage((e as Error).message);
  }
  const authorization = credentials.token !== undefined ? `Bearer ${credentials.token}` : credentials.username !== undefined ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` : undefined;
  const need = (n: number) => {
    if (args.length < n) throw new UsageError(`${command} needs ${n} argument${n > 1 ? 's' : ''}`);
  };
  try {
    switch (command) {
      case undefined: case 'help':
        return { code: 0, text: HELP.trimEnd(), json: { help: HELP } };
      case 'get': {
        need(1);
        const e = await client.getEntry(args[0]);
        if (!e) return { code: 1, text: '(nil)', json: { key: args[0], found: false } };
        const value = new TextDecoder().decode(e.value);
        return { code: 0, text: value, json: { key: args[0], found: true, value, version: e.version, ttlSeconds: e.ttlSeconds } };
      }
      case 'set': {
        need(2);
        const version = await client.set(args[0], args[1], {
          ttlSeconds: wholeNumber('--ttl', v.ttl, 0), ifAbsent: v['if-absent'], ifPresent: v['if-present'], ifVersion: v['if-version'],
        });
        if (version === undefined) return { code: 1, text: '(not stored: condition failed)', json: { key: args[0], stored: false } };
        return { code: 0, text: version, json: { key: args[0], stored: true, version } };
      }
      case 'del': {
        need(1);
        const removed = await client.delete(args[0]);
        return { code: removed ? 0 : 1, text: removed ? '1' : '0', json: { key: args[0], removed } };
      }
      case 'incr': case 'decr': {
        need(1);
        const by = args[1] === undefined ? 1 : /^-?\d{1,19}$/.test(args[1]) ? BigInt(args[1]) : NaN;
        if (typeof by === 'number' && Number.isNaN(by)) return usage(`BY must be a whole number, got ${JSON.stringify(args[1])}`);
        const value = command === 'incr' ? await client.incr(args[0], by) : await client.decr(args[0], by);
        return { code: 0, text: String(value), json: { key: args[0], value: String(value) } };
      }
      case 'ttl': {
        need(1);
        const seconds = await client.ttl(args[0]);
        return { code: seconds === -2 ? 1 : 0, text: String(seconds), json: { key: args[0], ttlSeconds: seconds } };
      }
      case 'expire': {
        need(2);
        const found = await client.expire(args[0], wholeNumber('SECONDS', args[1]));
        return { code: found ? 0 : 1, text: found ? '1' : '0', json: { key: args[0], found } };
      }
      case 'persist': {
        need(1);
        const found = await client.persist(args[0]);
        return { code: found ? 0 : 1, text: found ? '1' : '0', json: { key: args[0], found } };
      }
      case 'scan': {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const page = await client.scan({ prefix: args[0], cursor, count: wholeNumber('--count', v.count, 1000) });
          keys.push(...page.keys);
          cursor = page.cursor;
        } while (cursor !== '0');
        return { code: 0, text: keys.join('\n'), json: { keys } };
      }
      case 'stats': {
        const r = await fetch(`${(v['admin-url'] ?? defaults.adminUrl).replace(/\/+$/, '')}/v1/stats`, authorization ? { headers: { authorization } } : {}).catch((e: Error) => {
          throw new ConnectionError(`admin port: ${e.message}`);
        });
        const stats = await r.json();
        return { code: 0, text: JSON.stringify(stats, null, 2), json: stats };
      }
      default:
        return usage(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    const code = e instanceof SabcacheError ? e.code : 'SABCACHE_ERR_INTERNAL';
    return { code: 2, text: `error: ${(e as Error).message} (${code})`, json: { error: { code, message: (e as Error).message } } };
  }
}

/** Splits a REPL line into words; double or single quotes keep spaces. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:\\.|[^"\\])*)"|'([^']*)'|(\S+)/g;
  for (let m; (m = re.exec(line)); ) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2] ?? m[3]);
  return words;
}

