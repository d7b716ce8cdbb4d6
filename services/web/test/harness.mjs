// What the browser tests stand on: a real `diaba serve --demo small` on its own embedded
// PostGIS cluster in a temporary directory, users made with the real CLI, and Debian's
// Chromium driven by playwright-core. Nothing is mocked but the phone's GPS.
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const web = fileURLToPath(new URL('..', import.meta.url));
const root = join(web, '..', '..');
const binary = process.env.DIABA_BIN ?? join(root, 'target', 'debug', 'diaba');
/** Screenshots land here (CI keeps them as artefacts). */
export const ARTEFACTS = join(web, 'test-results');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1366, height: 860 };

/** A TCP port free on loopback now (for services that must know each other's address). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts diaba on a fresh data directory; resolves once it prints its address. `port`
 * (0: any) and `args` (more flags) are for tests that wire diaba to other services.
 */
export async function startDiaba({ port = 0, args = [] } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'diaba-web-'));
  const child = spawn(
    binary,
    ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--demo', 'small', '--web-dir', join(web, 'dist'), ...args],
    // Without DIABA_DEMO_GAUGES from the shell: the demo gauge would change the register under the tests.
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DIABA_LOG: 'warn', DIABA_DEMO_GAUGES: 'false' } },
  );
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`diaba did not start in 300 s:\n${log}`)), 300_000);
    child.stdout.on('data', (chunk) => {
      const found = String(chunk).match(/diaba listening on (http:\/\/\S+)/);
      if (found) { clearTimeout(timer); resolve(found[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`diaba exited with ${code}:\n${log}`)); });
  });
  const cli = (...args) => execFileSync(binary, [...args, '--data-dir', dataDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    url,
    dataDir,
    /**
     * A user's bearer token, made by `diaba user add`. `wards` '' gives none (an admin's):
     * the CLI refuses `--wards ''` (an empty code), so the flag is left out.
     */
    user(name, role, wards) {
      const scope = wards ? ['--wards', wards] : [];
      return cli('user', 'add', '--role', role, ...scope, '--team', 'Tổ thử nghiệm (synthetic)', name).trim();
    },
    /** A sensor's bearer token, allowed to write readings to the SensorThings `datastreams` (ids). */
    sensor(name, datastreams) {
      return cli('user', 'add', '--role', 'sensor', '--datastreams', datastreams.join(','), name).trim();
    },
    /** One value from SQL run on the service's own database (psql). */
    sql(query) {
      const database = cli('db', 'url').trim();
      return execFileSync('psql', [database, '-AtXc', query], { encoding: 'utf8' }).trim();
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, as the issue asks. */
export async function launchBrowser() {
  await mkdir(ARTEFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Fails the test on any script error or console error the page reports. */
export function collectErrors(page) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (process.env.DIABA_TEST_CONSOLE) console.log(`[page] ${message.type()}: ${message.text()}`);
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/** Waits until the page's MapLibre map (window.diaba.map) is still and has drawn its tiles. */
export async function mapIdle(page) {
  await page.waitForFunction(
    () => { const map = window.diaba?.map; return map && map.loaded() && map.areTilesLoaded() && !map.isMoving(); },
    null,
    { timeout: 60_000, polling: 200 },
  );
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

/**
 * How many pixels of PNG `png` differ noticeably from `against`: a colour [r, g, b] or
 * another PNG of the same size. The browser decodes both (a blank page, a canvas).
 */
export async function differingPixels(browser, png, against) {
  const page = await browser.newPage();
  try {
    return await page.evaluate(async ({ png, against }) => {
      const decode = async (data) => {
        const image = new Image();
        image.src = `data:image/png;base64,${data}`;
        await image.decode();
        const canvas = new OffscreenCanvas(image.width, image.height);
        canvas.getContext('2d').drawImage(image, 0, 0);
        return canvas.getContext('2d').getImageData(0, 0, image.width, image.height).data;
      };
      const a = await decode(png);
      const b = typeof against === 'string' ? await decode(against) : null;
      let differing = 0;
      for (let i = 0; i < a.length; i += 4) {
        const [r, g, bl] = b ? [b[i], b[i + 1], b[i + 2]] : against;
        if (Math.abs(a[i] - r) + Math.abs(a[i + 1] - g) + Math.abs(a[i + 2] - bl) > 24) differing++;
      }
      return { differing, total: a.length / 4 };
    }, { png: png.toString('base64'), against: Buffer.isBuffer(against) ? against.toString('base64') : against });
  } finally {
    await page.close();
  }
}

/**
 * A diaba and a browser for one test file, started before its tests and stopped after:
 * `const world = useDiaba(before, after)`, then `world.diaba`, `world.browser`. `setup`
 * runs once both are up (node's top-level before hooks do not wait for each other).
 */
export function useDiaba(before, after, setup = async () => {}, options = async () => ({})) {
  const world = {};
  before(async () => {
    world.diaba = await startDiaba(await options(world));
    world.browser = await launchBrowser();
    await setup(world);
  });
  after(async () => {
    await world.browser?.close();
    await world.diaba?.stop();
  });
  return world;
}
