/**
 * `sabcache`: starts the cache server. `sabcache --help` lists every option;
 * `sabcache --print-config` prints the configuration it would start with, and where each
 * value came from (flag, environment, `--config` file, default).
 * `sabcache --hash-password` reads a password from standard input (one line; never from the
 * command line, which `ps` shows) and prints its scrypt hash for a users file.
 * Exit codes: 0 after a graceful stop (SIGINT/SIGTERM), 1 on a startup error, 2 on bad options.
 *
 * @module
 */
import { SabcacheError } from '../errors.ts';
import { helpText, logOptionsOf, parseConfig, printConfigText } from '../server/config.ts';
import { closeLog, configureMainLog } from '../server/log.ts';
import { hugePagesLogLine } from '../server/huge-pages.ts';

/** `--hash-password`: the hash of the first line of standard input. */
async function hashPasswordFromStdin(): Promise<number> {
  const { hashPassword } = await import('../server/password-hash.ts');
  if (process.stdin.isTTY) process.stderr.write('password (then Enter): ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  const password = text.split(/\r?\n/)[0];
  if (password === '') {
    console.error('sabcache: --hash-password: an empty password (give it on standard input: echo -n … | sabcache --hash-password)');
    return 2;
  }
  console.log(hashPassword(password));
  return 0;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--hash-password')) {
    if (argv.length > 1) {
      console.error('sabcache: --hash-password takes no other option (the password comes on standard input)');
      return 2;
    }
    return hashPasswordFromStdin();
  }
  let parsed;
  try {
    parsed = parseConfig(argv);
  } catch (e) {
    console.error(`sabcache: ${(e as Error).message}`);
    return 2;
  }
  if (parsed.help) {
    console.log(helpText());
    return 0;
  }
  if (parsed.printConfig) {
    console.log(printConfigText(parsed.sources));
    return 0;
  }
  const log = configureMainLog(logOptionsOf(parsed.config));
  const hugePages = hugePagesLogLine();
  if (hugePages !== null) log.info(hugePages);
  // Imported here so that --help and option errors work even without the native binding.
  const { Server } = await import('../server/engine.ts');
  // The handlers go in before the server starts: a signal that comes as soon as the
  // "serving" line is out (or during the start) stops it gracefully once it has started.
  const stopAsked = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info(`${signal}: finishing in-flight requests and stopping`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  let server;
  try {
    server = await Server.start(parsed.config);
  } catch (e) {
    // In the log, and on standard error for whoever started it by hand.
    log.fatal({ err: e }, 'start failed');
    console.error(`sabcache: ${e instanceof SabcacheError ? `${e.message} (${e.code})` : (e as Error).stack}`);
    await closeLog();
    return 1;
  }
  await stopAsked;
  await server.stop();
  log.info('stopped');
  await closeLog();
  return 0;
}

process.exitCode = await main();
