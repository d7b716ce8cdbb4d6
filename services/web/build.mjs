// Builds the pages into dist/: bundles the scripts (MapLibre, PMTiles and idb from npm,
// so nothing is fetched from a CDN), copies the pages, styles and MapLibre's worker, and
// stamps the service worker with the list of files it keeps for offline use.
import * as esbuild from 'esbuild';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';

const dist = new URL('./dist/', import.meta.url);
const assets = new URL('./assets/', dist);
await rm(dist, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

await esbuild.build({
  entryPoints: ['src/map.js', 'src/field.js', 'src/review.js', 'src/apply.js', 'src/office.js', 'src/ioc.js'],
  outdir: 'dist/assets',
  bundle: true,
  splitting: true, // MapLibre is shared by the three pages, loaded once
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});

const maplibre = new URL('./node_modules/maplibre-gl/dist/', import.meta.url);
// MapLibre 6 starts its workers from maplibre-gl-worker.mjs next to the script that loads it.
await cp(new URL('maplibre-gl-worker.mjs', maplibre), new URL('maplibre-gl-worker.mjs', assets));
await cp(new URL('maplibre-gl.css', maplibre), new URL('maplibre-gl.css', assets));
await cp('src/css/app.css', new URL('app.css', assets));
// The PNG icons were rendered once from icon.svg (Chromium) for installers that want PNG.
for (const icon of ['icon.svg', 'icon-192.png', 'icon-512.png']) await cp(`src/${icon}`, new URL(icon, assets));
for (const page of ['index.html', 'field.html', 'review.html', 'apply.html', 'office.html', 'ioc.html', 'manifest.webmanifest']) {
  await cp(`src/${page}`, new URL(page, dist));
}

// The field page's offline shell: every asset but source maps, named in the worker so a
// new build (new hash) replaces the old cache.
const files = (await readdir(assets)).filter((f) => !f.endsWith('.map')).map((f) => `/assets/${f}`);
const shell = ['/field', '/manifest.webmanifest', ...files.sort()];
const hash = createHash('sha256');
for (const file of shell.slice(1)) hash.update(await readFile(new URL(`.${file}`, dist)));
hash.update(await readFile('src/field.html'));
const worker = (await readFile('src/sw.js', 'utf8'))
  .replace('__VERSION__', hash.digest('hex').slice(0, 16))
  .replace('__SHELL__', JSON.stringify(shell));
await writeFile(new URL('sw.js', dist), worker);
console.log(`built ${shell.length} offline files into dist/`);
