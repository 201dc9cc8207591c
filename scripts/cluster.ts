/**
 * `npm run cluster`: a local 3-node sabcache cluster on loopback with twemproxy and HAProxy
 * in front (the configs of docs/scale-out.md), for trying scale-out. Starts what is
 * installed, says what is missing and how to install it, and stops everything on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { haproxyConfig, missing, type Proxy, startHaproxy, startTwemproxy, twemproxyConfig } from '../test/helpers/proxies.ts';
import { freePort } from '../test/helpers/server-process.ts';

const NODES = 3;
const nodes: { name: string; port: number; adminPort: number; respPort: number; proc: ChildProcess }[] = [];
const proxies: Proxy[] = [];

async function startNode(name: string): Promise<void> {
  const [port, adminPort, respPort] = [await freePort(), await freePort(), await freePort()];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--resp-port', String(respPort), '--threads', '1', '--memory', '64mb', '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  nodes.push({ name, port, adminPort, respPort, proc });
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => null))?.status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not start`);
}

async function stopAll(): Promise<void> {
  for (const p of proxies) await p.stop();
  await Promise.all(nodes.map((n) => new Promise<void>((resolve) => {
    if (n.proc.exitCode !== null) return resolve();
    n.proc.once('exit', () => resolve());
    n.proc.kill('SIGTERM');
  })));
}

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping the cluster…');
  stopAll().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

try {
  for (let i = 1; i <= NODES; i++) await startNode(`node${i}`);
  console.log('nodes:');
  for (const n of nodes) console.log(`  ${n.name}: HTTP http://127.0.0.1:${n.port}  RESP 127.0.0.1:${n.respPort}  admin http://127.0.0.1:${n.adminPort}/`);
  const noTwem = missing('nutcracker', 'nutcracker');
  if (noTwem) console.log(`twemproxy: not started: ${noTwem}`);
  else {
    const t = await startTwemproxy(nodes.map((n) => ({ name: n.name, respPort: n.respPort })));
    proxies.push(t);
    console.log(`twemproxy: redis-cli -p ${t.port}   (ketama over the nodes' RESP ports; config:)\n${twemproxyConfig(t.port, nodes.map((n) => ({ name: n.name, respPort: n.respPort })))}`);
  }
  const noHa = missing('haproxy', 'haproxy');
  if (noHa) console.log(`HAProxy: not started: ${noHa}`);
  else {
    const h = await startHaproxy(nodes);
    proxies.push(h);
    console.log(`HAProxy: curl http://127.0.0.1:${h.port}/v1/kv/hello   (balance uri depth 3; config:)\n${haproxyConfig(h.port, nodes)}`);
  }
  console.log('Ctrl-C stops everything.');
} catch (e) {
  console.error(`cluster: ${(e as Error).message}`);
  await stopAll();
  process.exit(1);
}
