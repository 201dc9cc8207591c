/**
 * Builds the dashboard (`npm run build:dashboard`): bundles `dashboard/src/main.ts` with
 * uPlot into `app.js`, `style.css` with uPlot's styles into `app.css`, and copies
 * `index.html`, into `dashboard/dist` (committed: the server serves it as it is, so
 * `npm start` needs no build step; test/server/dashboard.test.ts checks it is current).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Builds the dashboard into `outDir` (default `dashboard/dist`). */
export async function buildDashboard(outDir = `${here}dist`): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const common = { bundle: true, minify: true, logLevel: 'warning' as const, legalComments: 'eof' as const, absWorkingDir: here };
  await build({ ...common, entryPoints: [`${here}src/main.ts`], outfile: `${outDir}/app.js`, format: 'esm', target: 'es2022' });
  await build({ ...common, entryPoints: [`${here}src/style.css`], outfile: `${outDir}/app.css` });
  copyFileSync(`${here}src/index.html`, `${outDir}/index.html`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildDashboard();
