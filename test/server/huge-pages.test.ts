import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { spawn } from '../helpers/child-processes.ts';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hugePagesLogLine, hugePagesTunable, thpMode } from '../../src/server/huge-pages.ts';
import { freePort } from '../helpers/server-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const onLinux = process.platform === 'linux';

describe('huge pages', () => {
  it('reads glibc.malloc.hugetlb out of a GLIBC_TUNABLES string', () => {
    assert.equal(hugePagesTunable(undefined), undefined);
    assert.equal(hugePagesTunable(''), undefined);
    assert.equal(hugePagesTunable('glibc.malloc.hugetlb=1'), '1');
    assert.equal(hugePagesTunable('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2'), '2');
    assert.equal(hugePagesTunable('glibc.malloc.hugetlb=1:glibc.malloc.hugetlb=0'), '0', 'the last one wins');
    assert.equal(hugePagesTunable('xglibc.malloc.hugetlb=1:glibc.malloc.arena_max=2'), undefined);
  });

  it('reads the bracketed THP mode, and none from a file that is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sabcache-thp-'));
    try {
      writeFileSync(join(dir, 'enabled'), 'always [madvise] never\n');
      assert.equal(thpMode(join(dir, 'enabled')), 'madvise');
      assert.equal(thpMode(join(dir, 'missing')), undefined);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('says in the start log whether they were asked for, and what to change', () => {
    assert.equal(hugePagesLogLine({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }, 'darwin', 'madvise'), null);
    assert.match(hugePagesLogLine({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }, 'linux', 'madvise')!, /transparent huge pages asked for \(glibc\.malloc\.hugetlb=1, kernel THP mode madvise\)/);
    assert.match(hugePagesLogLine({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }, 'linux', 'never')!, /the kernel has transparent huge pages off/);
    assert.match(hugePagesLogLine({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=2' }, 'linux', 'never')!, /hugetlbfs pages asked for/);
    assert.match(hugePagesLogLine({}, 'linux', 'madvise')!, /not asked for .*GLIBC_TUNABLES=glibc\.malloc\.hugetlb=1/);
    assert.match(hugePagesLogLine({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux', 'always')!, /every large allocation/);
  });

  it('the sabcache command starts Node with them asked for', { skip: !onLinux && 'GLIBC_TUNABLES is read on Linux only' }, async () => {
    assert.ok(existsSync(join(root, 'dist/src/cli/sabcache.js')), 'dist/ is built by npm install (the prepare script)');
    const env = { ...process.env };
    delete env.GLIBC_TUNABLES;
    // Run as an executable, through its #! line, as the installed command runs.
    const proc = spawn(join(root, 'bin/sabcache.js'), ['--host', '127.0.0.1', '--port', String(await freePort()), '--admin-port', String(await freePort()), '--resp-port', '0', '--threads', '1', '--memory', '16mb'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      // Its first line comes from Node itself (env has exec'd it by then, under the same pid).
      await new Promise<void>((resolve, reject) => {
        proc.stdout!.once('data', () => resolve());
        proc.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      const environ = readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes('GLIBC_TUNABLES=glibc.malloc.hugetlb=1'), environ.filter((v) => v.startsWith('GLIBC')).join(' ') || 'no GLIBC_TUNABLES');
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it('npm start asks for them unless GLIBC_TUNABLES is set', { skip: !onLinux && 'GLIBC_TUNABLES is read on Linux only' }, () => {
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    assert.ok(start.endsWith(' tsx src/cli/sabcache.ts'), start);
    // The script's shell part, with the server replaced by a print of what it would get.
    const script = start.replace(/ tsx src\/cli\/sabcache\.ts$/, ` ${JSON.stringify(process.execPath)} -p process.env.GLIBC_TUNABLES`);
    const run = (extra: NodeJS.ProcessEnv): string => {
      const env = { ...process.env, ...extra };
      if (!('GLIBC_TUNABLES' in extra)) delete env.GLIBC_TUNABLES;
      return execFileSync('sh', ['-c', script], { env, encoding: 'utf8' }).trim();
    };
    assert.equal(run({}), 'glibc.malloc.hugetlb=1');
    assert.equal(run({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }), 'glibc.malloc.hugetlb=0', 'the user\'s own setting wins');
  });
});
