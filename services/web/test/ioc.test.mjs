// Flooding now, in a real Chromium against a real diaba: a (synthetic) tide gauge is set up
// through the SensorThings API by an admin, with the rule "tidal-peak level 3 floods at
// 1.9 m"; its sensor posts readings, and the operations centre's wall (/ioc) and the map
// page's "Flooding now" layer follow them by Server-Sent Events, without a reload. Nothing
// is asked of any other origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useDiaba, collectErrors, mapIdle, ARTEFACTS, PHONE, DESKTOP } from './harness.mjs';

const THRESHOLD = 1.9;
const gauge = {}; // datastream id and the sensor's token, set up once
const world = useDiaba(before, after, async ({ diaba }) => Object.assign(gauge, await setUpGauge(diaba)));

async function call(path, { method = 'GET', token, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) headers['content-type'] = 'application/json';
  const response = await fetch(`${world.diaba.url}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A gauge on the Ninh Kiều waterfront, its rule, its sensor and a quiet synthetic day. */
async function setUpGauge(diaba) {
  const admin = diaba.user('ioc-admin (synthetic)', 'admin', '');
  const create = async (set, body) => (await call(`/sta/v1.1/${set}`, { method: 'POST', token: admin, body }))['@iot.id'];
  const location = await create('Locations', {
    name: 'Bến Ninh Kiều (synthetic)', encodingType: 'application/geo+json',
    location: { type: 'Point', coordinates: [105.788, 10.034] },
  });
  const thing = await create('Things', { name: 'Trạm đo triều Ninh Kiều (synthetic)', description: 'synthetic tide gauge', Locations: [{ '@iot.id': location }] });
  const sensor = await create('Sensors', { name: 'radar level sensor (synthetic)' });
  const property = await create('ObservedProperties', { name: 'Water level (synthetic)', definition: 'https://example.invalid/water-level' });
  const datastream = await create('Datastreams', {
    name: 'Mực nước sông Hậu (synthetic)', unitOfMeasurement: { name: 'metre', symbol: 'm' },
    Thing: { '@iot.id': thing }, Sensor: { '@iot.id': sensor }, ObservedProperty: { '@iot.id': property },
    properties: { measurementRange: [-1, 4] },
  });
  const token = diaba.sensor('ioc-gauge (synthetic)', [datastream]);
  // A quiet day: a tide between 0.9 and 1.5 m every hour, the last 50 minutes ago at 1.3 m
  // (no recent trend towards the threshold: the zones start dry, not on watch).
  const now = Date.now();
  for (let hours = 23; hours >= 1; hours--) {
    const value = hours === 1 ? 1.3 : 1.2 + 0.3 * Math.sin((2 * Math.PI * hours) / 12.4);
    await call(`/sta/v1.1/Datastreams(${datastream})/Observations`, {
      method: 'POST', token, body: { phenomenonTime: new Date(now - hours * 3600e3 + 10 * 60e3).toISOString(), result: Number(value.toFixed(3)) },
    });
  }
  const live = await call(`/v1/flood/rules/tidal-peak/3`, { method: 'PUT', token: admin, body: { datastream, threshold: THRESHOLD } });
  assert.ok(live.zones.dry.length >= 10, `a level-3 tidal-peak zone in every ward: ${live.zones.dry.length}`);
  return { datastream, token, zones: live.zones.dry.length };
}

/**
 * The sensor reports `value` (now, or `minutesAgo`); the server has evaluated the rule once
 * this returns.
 */
async function reading(value, minutesAgo = 0) {
  await call(`/sta/v1.1/Datastreams(${gauge.datastream})/Observations`, {
    method: 'POST', token: gauge.token, body: { phenomenonTime: new Date(Date.now() - minutesAgo * 60e3).toISOString(), result: value },
  });
  return call('/v1/flood/live');
}

/** Every request the page makes to another origin. */
function foreignRequests(page) {
  const foreign = [];
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(world.diaba.url) && !url.startsWith('data:') && !url.startsWith('blob:')) foreign.push(url);
  });
  return foreign;
}

const rendered = (page, layer) =>
  page.evaluate((layer) => window.diaba.map.queryRenderedFeatures({ layers: [layer] }).map((f) => ({ id: f.id, ...f.properties })), layer);
const count = (page, state) => page.$eval(`#count-${state}`, (el) => el.dataset.value);
const sum = (zones, key) => zones.reduce((s, z) => s + z.exposure[key], 0);

for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`the operations centre's wall follows a flood and its ebb without a reload (${size})`, async () => {
    assert.equal((await call('/v1/flood/live')).zones.flooded.length, 0, 'dry to begin with');
    const page = await world.browser.newPage({ viewport });
    const errors = collectErrors(page);
    const foreign = foreignRequests(page);
    const since = []; // the start of each observation window the page asks for
    page.on('request', (r) => {
      const filter = new URL(r.url()).searchParams.get('$filter');
      if (r.url().includes('/Observations?') && filter) since.push(Date.parse(filter.match(/ge (\S+)/)[1]));
    });
    await page.goto(`${world.diaba.url}/ioc#12/10.03/105.77`);
    await page.waitForSelector('#connection[data-status=live]');
    await page.waitForSelector('#synthetic:not([hidden])');
    await page.waitForFunction(() => window.diaba.state && document.querySelector('#gauges svg path'));
    await mapIdle(page);
    assert.equal(await count(page, 'flooded'), '0');
    assert.equal(await count(page, 'dry'), String(gauge.zones));
    await page.evaluate(() => { window.notReloaded = true; });
    const alertsBefore = await page.$$eval('#alerts li.alert', (l) => l.length);

    // The tide rises over the threshold.
    const flooded = await reading(2.05);
    assert.equal(flooded.zones.flooded.length, gauge.zones, 'every zone of the rule floods');
    await page.waitForFunction((n) => document.getElementById('count-flooded').dataset.value === String(n), flooded.zones.flooded.length);
    assert.equal(await count(page, 'dry'), '0');
    assert.deepEqual(
      await page.evaluate(() => window.diaba.state.zones.flooded.map((z) => z.id).sort((a, b) => a - b)),
      flooded.zones.flooded.map((z) => z.id).sort((a, b) => a - b),
      'window.diaba.state is /v1/flood/live',
    );

    // The alert log: one entry per zone that flooded, newest first, with its numbers.
    await page.waitForFunction((n) => document.querySelectorAll('#alerts li.alert[data-to=flooded]').length >= n, alertsBefore ? gauge.zones : 1);
    const first = await page.$eval('#alerts li.alert', (li) => ({ to: li.dataset.to, zone: Number(li.dataset.zone), text: li.textContent }));
    assert.equal(first.to, 'flooded');
    const newest = flooded.alerts[0];
    assert.equal(first.zone, newest.zone.id, 'newest first, as the server lists them');
    assert.match(first.text, /2,05 m/);
    assert.match(first.text, new RegExp(`${newest.exposure.households} hộ`));

    // Exposure by ward: totals are the flooded zones' own, the rows add up to them.
    const households = sum(flooded.zones.flooded, 'households');
    const parcels = sum(flooded.zones.flooded, 'parcels');
    assert.ok(households > 0 && parcels > 0, 'the flooded zones hold households');
    await page.waitForFunction((n) => document.querySelector('#exposure tfoot [data-key=households-flooded]')?.dataset.value === String(n), households);
    const table = await page.$eval('#exposure', (t) => {
      const value = (el) => Number(el.dataset.value);
      const rows = [...t.querySelectorAll('tbody tr[data-ward]')];
      return {
        households: value(t.querySelector('tfoot [data-key=households-flooded]')),
        parcels: value(t.querySelector('tfoot [data-key=parcels-flooded]')),
        rowHouseholds: rows.reduce((s, r) => s + value(r.querySelector('[data-key=households-flooded]')), 0),
        rowParcels: rows.reduce((s, r) => s + value(r.querySelector('[data-key=parcels-flooded]')), 0),
        wards: rows.map((r) => r.dataset.ward),
      };
    });
    assert.deepEqual([table.households, table.parcels], [households, parcels]);
    assert.deepEqual([table.rowHouseholds, table.rowParcels], [households, parcels], 'the ward rows add up to the totals');
    assert.ok(table.wards.includes('31135'), table.wards.join(', '));
    await page.waitForFunction(() => document.querySelector('#exposure tr[data-ward="31135"] th').textContent === 'Phường Ninh Kiều');

    // The gauge: its sparkline, its latest reading, and on the map a circle labelled with it.
    await page.waitForFunction((id) => document.querySelector(`#gauges li[data-datastream="${id}"] .gauge-value`)?.dataset.value === '2.05', gauge.datastream);
    const line = await page.$eval(`#gauges li[data-datastream="${gauge.datastream}"]`, (li) => ({
      d: li.querySelector('svg.sparkline path').getAttribute('d'), text: li.textContent, state: li.dataset.state,
    }));
    assert.ok(line.d.split('L').length >= 20, `a day of readings: ${line.d}`);
    assert.match(line.text, /2,05 m/);
    assert.equal(line.state, 'flooded');

    // The map's live layer: the flooded zones filled, the gauge circle labelled.
    await mapIdle(page);
    await page.waitForFunction(() => window.diaba.map.queryRenderedFeatures({ layers: ['live-flooded-fill'] }).length > 0);
    const zones = await rendered(page, 'live-flooded-fill');
    const floodedIds = new Set(flooded.zones.flooded.map((z) => z.id));
    assert.ok(zones.every((z) => floodedIds.has(z.id)), 'only flooded zones are filled');
    assert.ok(zones.some((z) => z.name.includes('Ninh Kiều')), zones.map((z) => z.name).join(', '));
    await page.waitForFunction(() => window.diaba.map.queryRenderedFeatures({ layers: ['live-gauges'] }).some((f) => f.properties.label === '2,05 m'));
    const [circle] = await rendered(page, 'live-gauges');
    assert.equal(circle.datastream, gauge.datastream);
    assert.equal(circle.state, 'flooded');
    assert.equal((await rendered(page, 'live-watch-fill')).length, 0, 'nothing on watch');
    await page.screenshot({ path: join(ARTEFACTS, `ioc-${size}-flooded.png`), fullPage: true });

    // English on request, redrawn in place.
    await page.click('#lang');
    assert.equal(await page.textContent('.count.flooded span'), 'Flooded');
    assert.match(await page.textContent('#alerts li.alert'), /Dry → Flooded/);
    await page.click('#lang');

    // The tide falls back: every zone dry again.
    const dry = await reading(1.0);
    assert.equal(dry.zones.flooded.length, 0);
    await page.waitForFunction(() => document.getElementById('count-flooded').dataset.value === '0');
    assert.equal(await count(page, 'watch'), String(dry.zones.watch.length));
    assert.equal(await count(page, 'dry'), String(gauge.zones));
    await page.waitForFunction(() => document.querySelector('#alerts li.alert').dataset.to === 'dry');
    await page.waitForFunction(() => document.querySelector('#exposure tfoot [data-key=households-flooded]').dataset.value === '0');
    await mapIdle(page);
    await page.waitForFunction(() => window.diaba.map.queryRenderedFeatures({ layers: ['live-flooded-fill'] }).length === 0);
    await page.screenshot({ path: join(ARTEFACTS, `ioc-${size}-dry.png`), fullPage: true });

    // Rising fast towards the threshold: on watch, hatched on the map, in the watch columns.
    // 1.0 m five and a half minutes ago, 1.6 m now: the server calls a trend from readings at
    // least 5 minutes apart within its rate window, and 0.3 m to go at that rate is well
    // within the rule's 3 h, whatever the window's length.
    await reading(1.0, 5.5);
    const watch = await reading(1.6);
    assert.equal(watch.zones.watch.length, gauge.zones, JSON.stringify(watch.zones.watch[0]));
    await page.waitForFunction((n) => document.getElementById('count-watch').dataset.value === String(n), gauge.zones);
    assert.equal(await count(page, 'flooded'), '0');
    await page.waitForFunction((n) => document.querySelector('#exposure tfoot [data-key=households-watch]')?.dataset.value === String(n), sum(watch.zones.watch, 'households'));
    assert.equal(await page.$eval('#exposure tfoot [data-key=parcels-watch]', (el) => Number(el.dataset.value)), sum(watch.zones.watch, 'parcels'));
    await page.waitForFunction(() => document.querySelector('#alerts li.alert').dataset.to === 'watch');
    await mapIdle(page);
    await page.waitForFunction(() => window.diaba.map.queryRenderedFeatures({ layers: ['live-watch-line'] }).length > 0);
    assert.ok((await rendered(page, 'live-watch-fill')).length > 0, 'the watch hatch is drawn');
    assert.equal((await rendered(page, 'live-flooded-fill')).length, 0);
    await page.screenshot({ path: join(ARTEFACTS, `ioc-${size}-watch.png`), fullPage: true });
    await reading(1.0); // steady: dry again for the next test
    await page.waitForFunction((n) => document.getElementById('count-dry').dataset.value === String(n), gauge.zones);

    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was never reloaded');
    // A day of readings is asked for once; refreshes ask only for the last half hour or so.
    assert.ok(since.length >= 3, `${since.length} observation requests`);
    assert.ok(Date.now() - since[0] > 23 * 3600e3, 'the first asks for the last 24 h');
    assert.ok(since.slice(1).every((t) => Date.now() - t < 2 * 3600e3), since.map((t) => new Date(t).toISOString()).join(', '));
    assert.deepEqual(foreign, [], 'no request leaves the origin');
    assert.deepEqual(errors, []);
    await page.close();
  });
}

for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`the map page's "Flooding now" toggle draws the live layer and follows the alerts (${size})`, async () => {
    const flooded = await reading(2.05);
    assert.ok(flooded.zones.flooded.length > 0);
    const page = await world.browser.newPage({ viewport });
    const errors = collectErrors(page);
    const foreign = foreignRequests(page);
    await page.goto(`${world.diaba.url}/#12/10.03/105.77`);
    await mapIdle(page);
    assert.equal(await page.evaluate(() => window.diaba.map.getLayer('live-flooded-fill')), undefined, 'off at first');
    assert.equal(await page.textContent('#live'), 'Ngập hiện tại');

    await page.click('#live');
    assert.equal(await page.getAttribute('#live', 'aria-pressed'), 'true');
    await page.waitForSelector('.live-legend [data-status=live]');
    await mapIdle(page);
    await page.waitForFunction(() => window.diaba.map.queryRenderedFeatures({ layers: ['live-flooded-fill'] }).length > 0);
    const ids = new Set(flooded.zones.flooded.map((z) => z.id));
    assert.ok((await rendered(page, 'live-flooded-fill')).every((z) => ids.has(z.id)));
    await page.waitForFunction(() => window.diaba.map.queryRenderedFeatures({ layers: ['live-gauges'] }).some((f) => f.properties.label === '2,05 m'));
    await page.screenshot({ path: join(ARTEFACTS, `map-${size}-flooding-now.png`) });

    // While on, it follows the alerts.
    await reading(1.0);
    await page.waitForFunction(() => window.diaba.map.queryRenderedFeatures({ layers: ['live-flooded-fill'] }).length === 0);
    await page.waitForFunction(() => window.diaba.map.queryRenderedFeatures({ layers: ['live-gauges'] }).some((f) => f.properties.label === '1,00 m'));

    // English, and off again.
    await page.click('#lang');
    assert.equal(await page.textContent('#live'), 'Flooding now');
    assert.match(await page.textContent('.live-legend'), /Flooded.*On watch/);
    await page.click('#live');
    assert.equal(await page.getAttribute('#live', 'aria-pressed'), 'false');
    assert.equal(await page.evaluate(() => window.diaba.map.getLayer('live-flooded-fill') ?? window.diaba.map.getSource('live-gauges') ?? null), null);
    assert.equal(await page.$('.live-legend'), null);

    assert.deepEqual(foreign, [], 'no request leaves the origin');
    assert.deepEqual(errors, []);
    await page.close();
  });
}
