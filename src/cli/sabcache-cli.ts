/**
 * `sabcache-cli`: one-shot commands, or an interactive REPL with history and `help`, against
 * a sabcache server. `sabcache-cli help` lists the commands (cli-commands.ts).
 * Exit codes: 0 done; 1 the key was absent or a condition failed; 2 an error.
 *
 * @module
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type CliDefaults, HELP, OPTIONS, type Outcome, runCommand, splitWords, usage } from './cli-commands.ts';

function print(o: Outcome, json: boolean): void {
  const out = json ? JSON.stringify(o.json) : o.text;
  if (o.code === 2 && !json) console.error(out);
  else if (out !== '') console.log(out);
}

async function repl(defaults: CliDefaults, json: boolean, passThrough: string[]): Promise<number> {
  const historyFile = join(homedir(), '.sabcache_cli_history');
  let history: string[] = [];
  try {
    history = readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).reverse().slice(0, 1000);
  } catch { /* no history yet */ }
  const interactive = process.stdin.isTTY === true;
  const rl = createInterface({
    input: process.stdin, output: process.stdout, terminal: interactive, history, historySize: 1000,
    completer: (line: string) => {
      const all = ['get', 'set', 'del', 'incr', 'decr', 'ttl', 'expire', 'persist', 'scan', 'stats', 'help', 'exit'];
      const hits = all.filter((c) => c.startsWith(line));
      return [hits.length ? hits : all, line];
    },
  });
  if (interactive) console.log(`sabcache-cli connected to ${defaults.url} (help, exit)`);
  rl.setPrompt('sabcache> ');
  if (interactive) rl.prompt();
  let last = 0;
  for await (const line of rl) {
    const words = splitWords(line);
    if (words.length === 0) { if (interactive) rl.prompt(); continue; }
    if (words[0] === 'exit' || words[0] === 'quit') break;
    if (interactive) {
      try { appendFileSync(historyFile, `${line}\n`); } catch { /* history is a convenience */ }
    }
    const o = await runCommand([...words, ...passThrough], defaults);
    last = o.code;
    print(o, json);
    if (interactive) rl.prompt();
  }
  rl.close();
  return last === 2 ? 2 : 0;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    print(usage((e as Error).message), false);
    return 2;
  }
  const defaults = {
    url: parsed.values.url ?? process.env.SABCACHE_URL ?? 'http://127.0.0.1:7070',
    nodes: parsed.values.nodes ?? (parsed.values.url === undefined ? process.env.SABCACHE_NODES : undefined),
    adminUrl: parsed.values['admin-url'] ?? process.env.SABCACHE_ADMIN_URL ?? 'http://127.0.0.1:7071',
    user: parsed.values.user ?? process.env.SABCACHE_USER,
    password: process.env.SABCACHE_PASSWORD,
    token: process.env.SABCACHE_TOKEN,
  };
  const json = parsed.values.json === true;
  if (parsed.values.help) {
    console.log(HELP.trimEnd());
    return 0;
  }
  if (parsed.positionals.length === 0) return repl(defaults, json, json ? ['--json'] : []);
  const o = await runCommand(argv, defaults);
  print(o, json);
  return o.code;
}

process.exitCode = await main();
