// The map page in a real Chromium against a real diaba: parcels are drawn, a click opens
// the right parcel, search flies to a Vpostcode, the date control shows former districts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useDiaba, collectErrors, mapIdle, differingPixels, ARTEFACTS, PHONE, DESKTOP } from './harness.mjs';

const BACKGROUND = [0xf4, 0xf1, 0xea]; // the style's background colour
const world = useDiaba(before, after);

async function json(path) {
  const response = await fetch(`${world.diaba.url}${path}`);
  assert.equal(response.status, 200, path);
  return response.json();
}

/** Parcel 31135/1/1 and a point inside it, confirmed by the server's own lookup. */
async function knownParcel() {
  const parcel = await json('/v1/parcels?ward=31135&sheet=1&number=1');
  const ring = parcel.geometry.coordinates[0][0].slice(0, -1);
  const lon = ring.reduce((s, c) => s + c[0], 0) / ring.length;
  const lat = ring.reduce((s, c) => s + c[1], 0) / ring.length;
  const place = await json(`/v1/lookup?lon=${lon}&lat=${lat}`);
  assert.equal(place.parcel?.id, parcel.id, 'the vertex average of the demo lot lies inside it');
  return { parcel, lon, lat };
}

test('the map draws parcels, and a click on a parcel opens its record', async () => {
  const { parcel, lon, lat } = await knownParcel();
  const page = await world.browser.newPage({ viewport: DESKTOP });
  const errors = collectErrors(page);
  await page.goto(`${world.diaba.url}/#18/${lat}/${lon}`);
  await mapIdle(page);
  await page.waitForSelector('#synthetic:not([hidden])');

  const map = page.locator('#map');
  const shot = await map.screenshot();
  const { differing, total } = await differingPixels(world.browser, shot, BACKGROUND);
  assert.ok(differing > total * 0.3, `only ${differing} of ${total} map pixels differ from the background`);
  // The parcels themselves: hiding their two layers must change a large part of the picture.
  await page.evaluate(() => ['parcels-fill', 'parcels-line'].forEach((l) => window.diaba.map.setLayoutProperty(l, 'visibility', 'none')));
  await mapIdle(page);
  const without = await map.screenshot();
  await page.evaluate(() => ['parcels-fill', 'parcels-line'].forEach((l) => window.diaba.map.setLayoutProperty(l, 'visibility', 'visible')));
  await mapIdle(page);
  const { differing: parcelPixels } = await differingPixels(world.browser, shot, without);
  assert.ok(parcelPixels > total * 0.05, `parcels change only ${parcelPixels} of ${total} pixels`);

  // The map is centred on the known point: click the middle of the map.
  const box = await map.boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForSelector('#panel:not([hidden]) [data-field=key]');
  assert.equal(await page.textContent('[data-field=key]'), '31135/1/1');
  assert.equal(await page.textContent('[data-field=national_id]'), parcel.national_id);
  await page.screenshot({ path: join(ARTEFACTS, 'map-desktop-parcel.png') });

  // The history link lists the versions in the panel.
  await page.click('#history-link');
  await page.waitForSelector('#history li');
  assert.match(await page.textContent('#history'), /^v1: \d{4}-\d{2}-\d{2}/);

  // English on request.
  await page.click('#lang');
  assert.equal(await page.textContent('.panel table th'), 'Ward / sheet / number');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a Vpostcode search flies to its cell', async () => {
  const { results } = await json('/v1/addresses?q=ninh%20kieu&limit=1');
  const code = results[0].vpostcode;
  const { centre } = await json(`/v1/vpostcode/${encodeURIComponent(code)}`);
  const page = await world.browser.newPage({ viewport: PHONE });
  const errors = collectErrors(page);
  await page.goto(`${world.diaba.url}/#11/10.03/105.70`);
  await mapIdle(page);
  await page.fill('#search-input', code.toLowerCase().replace(' ', ''));
  await page.press('#search-input', 'Enter');
  await page.waitForFunction(() => window.diaba.map.getZoom() > 18.5 && !window.diaba.map.isMoving(), null, { timeout: 20_000 });
  const [zoom, lat, lon] = (await page.evaluate(() => location.hash)).slice(1).split('/').map(Number);
  assert.ok(zoom >= 18.5, `zoom ${zoom}`);
  const metres = Math.hypot((lon - centre.lon) * 109_600, (lat - centre.lat) * 110_600);
  assert.ok(metres < 2, `the map centre is ${metres.toFixed(1)} m from the code's cell centre`);
  await mapIdle(page);
  await page.screenshot({ path: join(ARTEFACTS, 'map-phone-vpostcode.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('searching a parcel key, a national id and an address finds them', async () => {
  const { parcel } = await knownParcel();
  const page = await world.browser.newPage({ viewport: DESKTOP });
  const errors = collectErrors(page);
  await page.goto(`${world.diaba.url}/#12/10.03/105.75`);
  await mapIdle(page);
  for (const query of ['31135/1/1', parcel.national_id.toUpperCase()]) {
    await page.fill('#search-input', query);
    await page.press('#search-input', 'Enter');
    await page.waitForSelector('#panel:not([hidden]) [data-field=key]');
    assert.equal(await page.textContent('[data-field=key]'), '31135/1/1', query);
    await page.click('#panel-close');
  }
  await page.fill('#search-input', 'khong co dia chi nay xyzzy');
  await page.press('#search-input', 'Enter');
  await page.waitForSelector('#results:not([hidden]) .error');
  await page.fill('#search-input', 'Ly Tu Trong');
  await page.press('#search-input', 'Enter');
  await page.waitForSelector('#results:not([hidden]) button');
  assert.match(await page.textContent('#results'), /Lý Tự Trọng/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the search box suggests addresses as you type, the last word a prefix, one typo forgiven', async () => {
  const page = await world.browser.newPage({ viewport: PHONE });
  const errors = collectErrors(page);
  await page.goto(`${world.diaba.url}/#15/10.03/105.78`);
  await mapIdle(page);
  const asked = page.waitForRequest((r) => r.url().includes('autocomplete=true') && r.url().includes('focus='));
  await page.locator('#search-input').pressSequentially('ly tu trpng', { delay: 20 });
  await asked;
  await page.waitForSelector('#results:not([hidden]) button');
  assert.match(await page.textContent('#results'), /Lý Tự Trọng/, 'a typo (trpng) is forgiven');
  await page.fill('#search-input', '');
  await page.locator('#search-input').pressSequentially('Lý Tự Tr', { delay: 20 });
  await page.waitForFunction(() => /Lý Tự Trọng/.test(document.getElementById('results').textContent) && !document.getElementById('results').hidden);
  await page.screenshot({ path: join(ARTEFACTS, 'map-phone-suggestions.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a date before 1 July 2025 shows the former districts', async () => {
  const page = await world.browser.newPage({ viewport: DESKTOP });
  const errors = collectErrors(page);
  await page.goto(`${world.diaba.url}/#10/10.05/105.70`);
  await mapIdle(page);
  const before = await page.evaluate(() => window.diaba.map.queryRenderedFeatures({ layers: ['former-districts'] }).length);
  assert.equal(before, 0, 'today there are no districts');
  await page.fill('#date', '2024-06-01');
  await page.dispatchEvent('#date', 'change');
  await page.waitForSelector('#era:not([hidden])');
  await page.waitForFunction(() => window.diaba.map.queryRenderedFeatures({ layers: ['former-districts'] }).length > 0);
  const names = await page.evaluate(() => [...new Set(window.diaba.map.queryRenderedFeatures({ layers: ['former-districts'] }).map((f) => f.properties.name))]);
  assert.ok(names.includes('Quận Ninh Kiều'), names.join(', '));
  await mapIdle(page);
  await page.screenshot({ path: join(ARTEFACTS, 'map-desktop-2024.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
