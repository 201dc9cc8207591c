/**
 * `sabcache`: starts the cache server. `sabcache --help` lists every option.
 * Exit codes: 0 after a graceful stop (SIGINT/SIGTERM), 1 on a startup error, 2 on bad options.
 *
 * @module
 */
import { SabcacheError } from '../errors.ts';
import { helpText, parseConfig } from '../server/config.ts';
import { hugePagesLogLine } from '../server/huge-pages.ts';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2));
  } catch (e) {
    console.error(`sabcache: ${(e as Error).message}`);
    return 2;
  }
  if (parsed.help) {
    console.log(helpText());
    return 0;
  }
  const hugePages = hugePagesLogLine();
  if (hugePages !== null) console.log(hugePages);
  // Imported here so that --help and option errors work even without the native binding.
  const { Server } = await import('../server/engine.ts');
  // The handlers go in before the server starts: a signal that comes as soon as the
  // "serving" line is out (or during the start) stops it gracefully once it has started.
  const stopAsked = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      console.log(`sabcache: ${signal}: finishing in-flight requests and stopping`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  let server;
  try {
    server = await Server.start(parsed.config);
  } catch (e) {
    console.error(`sabcache: ${e instanceof SabcacheError ? `${e.message} (${e.code})` : (e as Error).stack}`);
    return 1;
  }
  await stopAsked;
  await server.stop();
  console.log('sabcache: stopped');
  return 0;
}

process.exitCode = await main();
