// The cadastral map's labels and its days, in a real Chromium against a real diaba: the
// symbol layers render with glyphs diaba serves itself, the date control and the
// before/after view draw the register of a day from `?at=` tiles, and nothing is asked of
// any other origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useDiaba, collectErrors, mapIdle, ARTEFACTS, PHONE, DESKTOP } from './harness.mjs';

const world = useDiaba(before, after);

async function json(path, init) {
  const response = await fetch(`${world.diaba.url}${path}`, init);
  assert.ok(response.ok, `${path}: ${response.status}`);
  return { json: await response.json(), etag: response.headers.get('etag') };
}

/** Parcel 31135/1/1 and a point inside it (the server's own lookup agrees). */
async function knownParcel() {
  const { json: parcel } = await json('/v1/parcels?ward=31135&sheet=1&number=1');
  const ring = parcel.geometry.coordinates[0][0].slice(0, -1);
  const lon = ring.reduce((s, c) => s + c[0], 0) / ring.length;
  const lat = ring.reduce((s, c) => s + c[1], 0) / ring.length;
  const { json: place } = await json(`/v1/lookup?lon=${lon}&lat=${lat}`);
  assert.equal(place.parcel?.id, parcel.id);
  return { parcel, lon, lat };
}

/** Every request the page makes to another origin, and every glyph answer. */
function watch(page) {
  const foreign = [];
  const glyphs = [];
  page.on('request', (r) => { if (!r.url().startsWith(world.diaba.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) foreign.push(r.url()); });
  page.on('response', (r) => { if (r.url().includes('/fonts/')) glyphs.push(r.status()); });
  return { foreign, glyphs };
}

const rendered = (page, layer, which = 'map') =>
  page.evaluate(({ layer, which }) => window.diaba[which].queryRenderedFeatures({ layers: [layer] }).map((f) => f.properties), { layer, which });

for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`labels render on the ${size}: lots, house numbers, roads, sheets and wards`, async () => {
    const { parcel, lon, lat } = await knownParcel();
    const page = await world.browser.newPage({ viewport });
    const errors = collectErrors(page);
    const seen = watch(page);

    await page.goto(`${world.diaba.url}/#19/${lat}/${lon}`);
    await mapIdle(page);
    const lots = await rendered(page, 'parcel-labels');
    assert.ok(lots.length > 0, 'lot labels are placed');
    assert.ok(lots.some((p) => p.number === parcel.number && p.land_use === parcel.land_uses[0].code), JSON.stringify(lots.slice(0, 5)));
    const houses = await rendered(page, 'house-numbers');
    assert.ok(houses.some((p) => p.house_number), 'house numbers at z19');
    await page.screenshot({ path: join(ARTEFACTS, `labels-${size}-z19.png`) });

    await page.evaluate(() => window.diaba.map.jumpTo({ zoom: 17 }));
    await mapIdle(page);
    const roads = await rendered(page, 'road-labels');
    assert.ok(roads.some((p) => p.kind === 'road' && p.name), 'road names along the road lots');
    assert.ok((await rendered(page, 'sheet-labels')).length > 0, 'sheet numbers at z17');
    assert.equal((await rendered(page, 'parcel-labels')).length, 0, 'no lot labels below z18');
    await page.screenshot({ path: join(ARTEFACTS, `labels-${size}-z17.png`) });

    await page.evaluate(() => window.diaba.map.jumpTo({ zoom: 12 }));
    await mapIdle(page);
    const wards = (await rendered(page, 'ward-labels')).map((p) => p.name);
    assert.ok(wards.includes('Phường Ninh Kiều'), wards.join(', '));
    await page.screenshot({ path: join(ARTEFACTS, `labels-${size}-z12.png`) });

    assert.ok(seen.glyphs.length > 0 && seen.glyphs.every((s) => s === 200), `glyph answers ${seen.glyphs}`);
    assert.deepEqual(seen.foreign, [], 'no request leaves the origin');
    assert.deepEqual(errors, []);
    await page.close();
  });
}

for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`an edit made today shows on today's map, not on yesterday's, and the before/after view shows both (${size})`, async () => {
    const { parcel, lon, lat } = await knownParcel();
    const token = world.diaba.user('registrar-as-of (synthetic)', 'registrar', '31135');
    const { etag } = await json(`/v1/parcels/${parcel.id}`);
    const newUse = parcel.land_uses[0].code === 'TMD' ? 'SKC' : 'TMD';
    await json(`/v1/parcels/${parcel.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'if-match': etag, 'content-type': 'application/json' },
      body: JSON.stringify({ land_uses: [{ code: newUse }] }),
    });
    const yesterday = new Date(Date.now() + 7 * 3600e3 - 86400e3).toISOString().slice(0, 10);

    const page = await world.browser.newPage({ viewport });
    const errors = collectErrors(page);
    const seen = watch(page);
    const asked = [];
    page.on('request', (r) => { if (r.url().includes('/tiles/all/')) asked.push(r.url()); });
    await page.goto(`${world.diaba.url}/#19/${lat}/${lon}`);
    await mapIdle(page);
    const today = async (which = 'map') => (await rendered(page, 'parcel-labels', which)).find((p) => p.number === parcel.number);
    await page.waitForFunction((use) => window.diaba.map.queryRenderedFeatures({ layers: ['parcel-labels'] }).some((f) => f.properties.land_use === use), newUse);
    assert.equal((await today())?.land_use, newUse, 'today shows the edit');

    // The date control: yesterday's register (the demo was made today, so it had no lots yet;
    // the Rust suite checks a lot's earlier version against the same ?at= tiles).
    await page.fill('#date', yesterday);
    await page.dispatchEvent('#date', 'change');
    // Labels fade out after the fills: wait for both to be gone.
    await page.waitForFunction(() => !window.diaba.map.queryRenderedFeatures({ layers: ['parcels-fill', 'parcel-labels'] }).length);
    await mapIdle(page);
    assert.equal(await today(), undefined, 'yesterday does not show the edited lot');
    assert.ok(asked.some((u) => u.endsWith(`?at=${yesterday}`)), 'tiles of yesterday were asked for');
    await page.screenshot({ path: join(ARTEFACTS, `labels-${size}-yesterday.png`) });

    // Back to today, then the before/after view: yesterday on the left, today on the right.
    await page.fill('#date', new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10));
    await page.dispatchEvent('#date', 'change');
    await page.click('#compare');
    await page.fill('#compare-date', yesterday);
    await page.dispatchEvent('#compare-date', 'change');
    await page.waitForFunction(() => window.diaba.before?.loaded() && window.diaba.before.areTilesLoaded());
    await mapIdle(page);
    await page.waitForFunction((use) => window.diaba.map.queryRenderedFeatures({ layers: ['parcel-labels'] }).some((f) => f.properties.land_use === use), newUse);
    assert.equal((await rendered(page, 'parcels-fill', 'before')).length, 0, 'the before map draws yesterday');
    assert.equal((await today())?.land_use, newUse, 'the after map draws today');
    // The two maps move together.
    await page.evaluate(() => window.diaba.map.jumpTo({ zoom: 18.5 }));
    assert.equal(await page.evaluate(() => window.diaba.before.getZoom()), 18.5);
    await page.screenshot({ path: join(ARTEFACTS, `labels-${size}-before-after.png`) });
    await page.click('#compare');
    assert.equal(await page.evaluate(() => window.diaba.before), undefined);

    assert.deepEqual(seen.foreign, [], 'no request leaves the origin');
    assert.deepEqual(errors, []);
    await page.close();
  });
}
