// Printing the map to scale, in a real Chromium against a real diaba: the PNG and the PDF
// that come down are the paper's size at the print's dpi, the map on them is not blank, and
// the ground they cover is the paper times the scale, measured apart from lib/print.js (the
// map's own unproject, and WGS 84 distances between the corners MapLibre drew).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { useDiaba, collectErrors, mapIdle, differingPixels, ARTEFACTS, PHONE, DESKTOP } from './harness.mjs';

const BACKGROUND = [0xf4, 0xf1, 0xea]; // the style's background colour
const A4 = [210, 297]; // mm
const A3 = [297, 420];
const world = useDiaba(before, after);

async function json(path) {
  const response = await fetch(`${world.diaba.url}${path}`);
  assert.equal(response.status, 200, path);
  return response.json();
}

/** A point inside parcel 31135/1/1 (the demo's first lot), where parcels are sure to be drawn. */
async function knownPoint() {
  const parcel = await json('/v1/parcels?ward=31135&sheet=1&number=1');
  const ring = parcel.geometry.coordinates[0][0].slice(0, -1);
  return {
    lon: ring.reduce((s, c) => s + c[0], 0) / ring.length,
    lat: ring.reduce((s, c) => s + c[1], 0) / ring.length,
  };
}

// WGS 84 radii of curvature: ground metres per radian of longitude and of latitude at `lat`.
const WGS84 = { a: 6_378_137, e2: 0.00669437999014 };
function groundPerRadian(lat) {
  const phi = (lat * Math.PI) / 180;
  const w = 1 - WGS84.e2 * Math.sin(phi) ** 2;
  const n = WGS84.a / Math.sqrt(w); // prime vertical
  const m = (WGS84.a * (1 - WGS84.e2)) / w ** 1.5; // meridian
  return { eastWest: n * Math.cos(phi), northSouth: m };
}
const rad = (deg) => (deg * Math.PI) / 180;
const close = (actual, expected, tolerance, what) =>
  assert.ok(Math.abs(actual / expected - 1) <= tolerance, `${what}: ${actual} vs ${expected} (±${tolerance * 100} %)`);

/** A map page with its errors and every request that left diaba's origin. */
async function mapPage(viewport, hash) {
  const page = await world.browser.newPage({ viewport });
  const errors = collectErrors(page);
  const origin = new URL(world.diaba.url).origin;
  const foreign = [];
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('data:') && new URL(url).origin !== origin) foreign.push(url);
  });
  await page.goto(`${world.diaba.url}/${hash}`);
  await mapIdle(page);
  await page.waitForSelector('#synthetic:not([hidden])');
  return { page, errors, foreign };
}

/** Prints through the dialog; the downloaded bytes, their name and window.diaba.lastPrint. */
async function print(page, { scale, paper, orientation, format }) {
  await page.click('#print');
  await page.waitForSelector('#print-dialog[open]');
  await page.selectOption('#print-scale', String(scale));
  await page.selectOption('#print-paper', paper);
  await page.selectOption('#print-orientation', orientation);
  await page.selectOption('#print-format', format);
  // The button is disabled while the print is made: watch it from inside the page.
  await page.evaluate(() => {
    const button = document.getElementById('print');
    window.printStates = [];
    new MutationObserver(() => window.printStates.push(button.disabled)).observe(button, { attributes: true });
  });
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    page.click('#print-go'),
  ]);
  const bytes = await readFile(await download.path());
  await page.waitForSelector('#print-dialog:not([open])', { state: 'attached' });
  assert.equal(await page.isDisabled('#print'), false, 'the button is enabled again');
  assert.ok((await page.evaluate(() => window.printStates)).includes(true), 'the button was disabled while printing');
  // The offscreen map is gone with its canvas: only the page's own map is left.
  assert.equal(await page.locator('.print-offscreen').count(), 0);
  assert.equal(await page.locator('canvas').count(), 1);
  return { bytes, name: download.suggestedFilename(), printed: await page.evaluate(() => window.diaba.lastPrint) };
}

/** The chunks of a PNG: { type: data }. */
function pngChunks(png) {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG signature');
  const chunks = {};
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    chunks[type] ??= png.subarray(at + 8, at + 8 + length);
    at += 12 + length;
  }
  return chunks;
}

/** `png` cut to `box`, as PNG, by the browser. */
async function crop(png, { x, y, width, height }) {
  const page = await world.browser.newPage();
  try {
    const base64 = await page.evaluate(async ({ png, x, y, width, height }) => {
      const image = new Image();
      image.src = `data:image/png;base64,${png}`;
      await image.decode();
      const canvas = new OffscreenCanvas(width, height);
      canvas.getContext('2d').drawImage(image, -x, -y);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
      let text = '';
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(text);
    }, { png: png.toString('base64'), x, y, width, height });
    return Buffer.from(base64, 'base64');
  } finally {
    await page.close();
  }
}

/** The sheet's pixels are the paper at the print's dpi, and its ground is paper × scale. */
async function assertTrueToScale(page, printed, { scale, paperMm, centre }) {
  const { dpi } = printed;
  assert.ok(dpi >= 190 && dpi <= 300, `dpi ${dpi}`);
  assert.equal(printed.widthPx, Math.floor((paperMm[0] / 25.4) * dpi), 'sheet width = paper width at the dpi');
  assert.equal(printed.heightPx, Math.floor((paperMm[1] / 25.4) * dpi), 'sheet height = paper height at the dpi');
  assert.ok(Math.max(printed.frame.width, printed.frame.height) <= 4096, 'the map canvas fits 4096 px');

  // Metres per CSS pixel (1/96 inch of paper) at 1:scale, and the zoom for it by Web Mercator.
  const mpp = (scale * 0.0254) / 96;
  close(printed.metresPerPixel, mpp, 1e-9, 'metres per CSS pixel');
  close((40_075_016.686 * Math.cos(rad(printed.centre.lat))) / (512 * 2 ** printed.zoom), mpp, 1e-9, 'Web-Mercator metres per pixel at the zoom');
  close(printed.centre.lat, centre.lat, 1e-6, 'centre latitude');
  close(printed.centre.lon, centre.lon, 1e-6, 'centre longitude');

  // The page's own map at the print's zoom: 100 CSS px across its centre, measured on WGS 84.
  const across = await page.evaluate(({ lon, lat, zoom }) => {
    const map = window.diaba.map;
    map.jumpTo({ center: [lon, lat], zoom, bearing: 0, pitch: 0 });
    const { x, y } = map.project([lon, lat]);
    const [a, b] = [map.unproject([x - 50, y]), map.unproject([x + 50, y])];
    return b.lng - a.lng;
  }, { ...printed.centre, zoom: printed.zoom });
  close((rad(across) * groundPerRadian(printed.centre.lat).eastWest) / 100, mpp, 1e-3, 'ground per CSS pixel on the page map');

  // The corners MapLibre drew into the frame: ground across and down = frame on paper × scale.
  const [west, south, east, north] = printed.bounds;
  const radii = groundPerRadian(printed.centre.lat);
  const frameMetres = (px) => (px / dpi) * 0.0254 * scale; // paper inches → ground metres
  close(rad(east - west) * radii.eastWest, frameMetres(printed.frame.width), 1e-3, 'east–west ground of the frame');
  close(rad(north - south) * radii.northSouth, frameMetres(printed.frame.height), 1e-3, 'north–south ground of the frame');

  // The scale bar: 5 cm of paper, as many metres as the scale makes them.
  assert.equal(printed.scaleBar.metres, (50 * scale) / 1000);
  close(printed.scaleBar.px, (50 / 25.4) * dpi, 1e-9, 'scale bar length');
}

/** A PDF's objects by number, checked against its cross-reference table. */
function pdfObjects(pdf) {
  const text = pdf.toString('latin1');
  assert.ok(text.startsWith('%PDF-'), 'starts with %PDF-');
  assert.match(text.slice(-40), /%%EOF\n?$/);
  const start = Number(text.match(/startxref\n(\d+)\n%%EOF\n?$/)[1]);
  assert.equal(text.slice(start, start + 4), 'xref');
  const [, first, count] = text.slice(start).match(/^xref\n(\d+) (\d+)\n/);
  const entries = text.slice(start).split('\n').slice(2, 2 + Number(count));
  const objects = {};
  for (const [i, entry] of entries.entries()) {
    const number = Number(first) + i;
    if (entry.endsWith('f ')) continue;
    const offset = Number(entry.slice(0, 10));
    assert.ok(text.startsWith(`${number} 0 obj`, offset), `xref entry ${number} points at its object`);
    objects[number] = offset;
  }
  return { text, objects };
}

/** The PDF's page size in points and its one image, inflated. */
function pdfPage(pdf) {
  const { text } = pdfObjects(pdf);
  const mediaBox = text.match(/\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/).slice(1).map(Number);
  assert.match(text, /\/Type \/XObject \/Subtype \/Image/, 'an image XObject');
  const image = text.match(/\/Subtype \/Image \/Width (\d+) \/Height (\d+) [^>]*\/Filter \/FlateDecode \/Length (\d+) >>\nstream\n/);
  const [width, height, length] = image.slice(1).map(Number);
  const at = image.index + image[0].length;
  const pixels = inflateSync(pdf.subarray(at, at + length));
  assert.equal(pixels.length, width * height * 3, 'the image stream holds every RGB pixel');
  const [, w, h] = text.match(/q ([\d.]+) 0 0 ([\d.]+) 0 [\d.]+ cm \/Map Do Q/).map(Number);
  return { mediaBox, width, height, placed: [w, h], text };
}

test('1:1 000 on A4 portrait as PNG: the paper at its dpi, the map true to scale, nothing from elsewhere', async () => {
  const centre = await knownPoint();
  const { page, errors, foreign } = await mapPage(DESKTOP, `#17/${centre.lat}/${centre.lon}`);
  await page.fill('#date', '2025-09-15'); // the as-of date goes on the sheet and in the name
  await page.dispatchEvent('#date', 'change');
  await mapIdle(page);

  const { bytes, name, printed } = await print(page, { scale: 1000, paper: 'A4', orientation: 'portrait', format: 'png' });
  await writeFile(join(ARTEFACTS, 'print-desktop-1-1000-a4.png'), bytes);
  assert.equal(name, 'diaba-1-1000-2025-09-15.png');
  assert.equal(printed.date, '2025-09-15');
  assert.equal(printed.synthetic, true, 'the demo is synthetic, and the sheet says so');
  assert.deepEqual([printed.scale, printed.paper, printed.format], [1000, 'A4', 'png']);

  const chunks = pngChunks(bytes);
  assert.deepEqual([chunks.IHDR.readUInt32BE(0), chunks.IHDR.readUInt32BE(4)], [printed.widthPx, printed.heightPx]);
  const perMetre = Math.round(printed.dpi / 0.0254);
  assert.deepEqual([chunks.pHYs.readUInt32BE(0), chunks.pHYs.readUInt32BE(4), chunks.pHYs[8]], [perMetre, perMetre, 1], 'the PNG says its dpi');
  await assertTrueToScale(page, printed, { scale: 1000, paperMm: A4, centre });
  // A4 with 10 mm margins at 1:1 000: about 190 × 277 m of ground.
  close(printed.groundMetres[0], 190, 0.005, 'ground width');
  close(printed.groundMetres[1], 277, 0.005, 'ground height');

  // The middle of the map frame (clear of the title, the arrow and the cartouche) is map.
  const { x, y, width, height } = printed.frame;
  const middle = await crop(bytes, { x: x + Math.round(width / 4), y: y + Math.round(height * 0.3), width: Math.round(width / 2), height: Math.round(height * 0.4) });
  const { differing, total } = await differingPixels(world.browser, middle, BACKGROUND);
  assert.ok(differing > total * 0.3, `only ${differing} of ${total} map pixels differ from the background`);
  // The margin is paper: white.
  const margin = await crop(bytes, { x: 0, y: 0, width: printed.widthPx, height: Math.floor(x * 0.8) });
  assert.equal((await differingPixels(world.browser, margin, [255, 255, 255])).differing, 0, 'the margin is blank paper');

  await page.click('#print');
  await page.waitForSelector('#print-dialog[open]');
  assert.match(await page.textContent('#print-extent'), /^190 × 27\d m$/);
  await page.screenshot({ path: join(ARTEFACTS, 'print-desktop-dialog.png') });
  await page.click('#print-cancel');
  assert.deepEqual(foreign, [], 'no request left diaba');
  assert.deepEqual(errors, []);
  await page.close();
});

test('1:500 on A4 and 1:2 000 on A3 landscape as PDF, from a phone, in English', async () => {
  const centre = await knownPoint();
  const { page, errors, foreign } = await mapPage(PHONE, `#17/${centre.lat}/${centre.lon}`);
  await page.click('#lang');
  assert.equal(await page.textContent('#print'), 'Print map');
  const today = await page.inputValue('#date');

  const a4 = await print(page, { scale: 500, paper: 'A4', orientation: 'portrait', format: 'pdf' });
  await writeFile(join(ARTEFACTS, 'print-phone-1-500-a4.pdf'), a4.bytes);
  assert.equal(a4.name, `diaba-1-500-${today}.pdf`);
  const sheet = pdfPage(a4.bytes);
  assert.deepEqual(sheet.mediaBox, [595.28, 841.89], 'an A4 page in points');
  assert.deepEqual([sheet.width, sheet.height], [a4.printed.widthPx, a4.printed.heightPx]);
  // Placed at 72/dpi pt per pixel: the sheet's pixels are the paper's, to the point.
  close(sheet.placed[0], (sheet.width * 72) / a4.printed.dpi, 1e-6, 'image width on the page');
  assert.ok(sheet.placed[0] <= 595.28 && sheet.placed[0] > 595.28 - 0.5, `image ${sheet.placed[0]} pt wide on a 595.28 pt page`);
  assert.ok(sheet.placed[1] <= 841.89 && sheet.placed[1] > 841.89 - 0.5, `image ${sheet.placed[1]} pt high on a 841.89 pt page`);
  assert.match(sheet.text, /\/PrintScaling \/None/, 'viewers are asked to print at 100 %');
  await assertTrueToScale(page, a4.printed, { scale: 500, paperMm: A4, centre });
  // Back where the print was made: the scale check moved the page's map.
  await page.evaluate(({ lon, lat }) => window.diaba.map.jumpTo({ center: [lon, lat], zoom: 17 }), centre);
  await mapIdle(page);

  const a3 = await print(page, { scale: 2000, paper: 'A3', orientation: 'landscape', format: 'pdf' });
  const big = pdfPage(a3.bytes);
  assert.deepEqual(big.mediaBox, [1190.55, 841.89], 'an A3 landscape page in points');
  assert.ok(a3.printed.dpi < 288, `A3 is drawn at fewer dots per inch (${a3.printed.dpi}) to stay within 4096 px`);
  await assertTrueToScale(page, a3.printed, { scale: 2000, paperMm: [A3[1], A3[0]] , centre });

  await page.click('#print');
  await page.waitForSelector('#print-dialog[open]');
  const box = await page.locator('#print-dialog').boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, 'the dialog fits the phone');
  assert.equal(await page.textContent('#print-go'), 'Print');
  await page.screenshot({ path: join(ARTEFACTS, 'print-phone-dialog.png') });
  assert.deepEqual(foreign, [], 'no request left diaba');
  assert.deepEqual(errors, []);
  await page.close();
});
