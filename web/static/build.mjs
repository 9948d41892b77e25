// Build web/static/dist/kunflow.{js,css} (caseworker pages), kunflow-admin.{js,css} (the
// process admin's tools, loaded only on /admin/ pages) and kunflow-dashboard.{js,css} (ECharts
// and the 驾驶舱 pages, loaded only on /dashboard/ pages) (`npm run build`, or `make bundle`).
// Exits non-zero on any error, so make and CI stop.

import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, 'dist');

async function main() {
  await mkdir(outdir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: {
      kunflow: path.join(here, 'src', 'kunflow.js'),
      'kunflow-admin': path.join(here, 'src', 'admin', 'index.js'),
      'kunflow-dashboard': path.join(here, 'src', 'dashboard', 'index.js'),
    },
    outdir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020', 'chrome80', 'edge80', 'firefox80', 'safari15'], // 360 / QQ browsers ship old Chromium cores
    minify: true,
    sourcemap: true,
    legalComments: 'linked', // licences of bpmn-js, form-js & co. in dist/kunflow.js.LEGAL.txt
    charset: 'utf8',
    define: { 'process.env.NODE_ENV': '"production"' },
    // One preact for every widget: @bpmn-io/form-js-editor pins its own older copy, yet renders
    // form-js-viewer's fields and @bpmn-io/properties-panel's entries, whose hooks must run on
    // the same preact (else "Cannot read properties of undefined (reading 'context')"). The
    // properties panel ships the preact that bpmn-js-properties-panel uses too; take that one.
    alias: { preact: '@bpmn-io/properties-panel/preact' },
    loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
    logLevel: 'warning',
    metafile: true,
  });
  if (result.errors.length) {
    throw new Error(`${result.errors.length} build errors`);
  }
  for (const name of ['kunflow.js', 'kunflow.css', 'kunflow-admin.js', 'kunflow-admin.css',
    'kunflow-dashboard.js', 'kunflow-dashboard.css']) {
    const file = path.join(outdir, name);
    const { size } = await stat(file); // throws when an output is missing
    console.log(`${path.relative(process.cwd(), file)}  ${(size / 1024).toFixed(0)} KiB`);
  }
}

main().catch((error) => {
  console.error(`kunflow bundle: build failed: ${error.message}`);
  process.exit(1);
});
