// The field page as a collector's phone: GPS mocked (the only thing that is), network cut
// and restored by Chromium, the outbox synced to a real diaba and checked in PostGIS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useDiaba, collectErrors, mapIdle, ARTEFACTS, PHONE, DESKTOP } from './harness.mjs';

let token;
let spot; // a point inside parcel 31135/1/1, in Phường Ninh Kiều
const world = useDiaba(before, after, async () => {
  token = world.diaba.user('field-collector', 'collector', '31135');
  const parcel = await (await fetch(`${world.diaba.url}/v1/parcels?ward=31135&sheet=1&number=1`)).json();
  const ring = parcel.geometry.coordinates[0][0].slice(0, -1);
  spot = {
    longitude: ring.reduce((s, c) => s + c[0], 0) / ring.length,
    latitude: ring.reduce((s, c) => s + c[1], 0) / ring.length,
  };
});


/** A phone at `spot` whose GPS reports `accuracy` metres, signed in as the collector. */
async function phone(accuracy, viewport = PHONE) {
  const context = await world.browser.newContext({
    viewport,
    isMobile: viewport === PHONE,
    hasTouch: viewport === PHONE,
    geolocation: { ...spot, accuracy },
    permissions: ['geolocation'],
  });
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(`${world.diaba.url}/field`);
  await page.fill('#token', token);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#work:not([hidden])');
  await page.waitForFunction(() => /±\d+ m/.test(document.getElementById('position').textContent));
  await page.waitForFunction(() => document.getElementById('parcel').textContent.startsWith('31135/1/1'));
  return { context, page, errors };
}

async function capture(page, houseNumber) {
  await page.fill('#house_number', houseNumber);
  await page.fill('#street', 'Đường Thử Nghiệm (synthetic)');
  await page.click('#capture button[type=submit]');
}

/** Resources that cannot load with the network cut (tiles, lookups) are expected to fail. */
const offlineFailure = (error) => /Failed to load resource: net::ERR_(FAILED|INTERNET_DISCONNECTED)/.test(error);

const item = (houseNumber, state) => `#queue li[data-state=${state}]:has-text("${houseNumber}")`;

test('a capture made offline is queued, then sent once when the network returns', async () => {
  const houseNumber = `T${Date.now() % 1e6}/7A`;
  const { context, page, errors } = await phone(4);
  assert.equal(await page.evaluate(() => navigator.serviceWorker.ready.then((r) => Boolean(r.active))), true);
  // Chromium's own verdict on whether the page can be installed as an app; test browser
  // contexts are incognito, which Chromium names but which is not the page's doing.
  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors.filter((e) => e.errorId !== 'in-incognito'), [], 'installable as a PWA');
  await page.screenshot({ path: join(ARTEFACTS, 'field-phone.png'), fullPage: true });

  await context.setOffline(true);
  await page.waitForSelector('#network.offline');
  await capture(page, houseNumber);
  await page.waitForSelector(item(houseNumber, 'queued'));
  assert.match(await page.textContent(item(houseNumber, 'queued')), /đang chờ gửi/);
  await page.screenshot({ path: join(ARTEFACTS, 'field-phone-queued.png'), fullPage: true });
  assert.equal(world.diaba.sql(`SELECT count(*) FROM address WHERE house_number = '${houseNumber}'`), '0');

  // Still offline: the page comes back from the service worker, the capture from IndexedDB.
  await page.reload();
  await page.waitForSelector(item(houseNumber, 'queued'));

  await context.setOffline(false);
  await page.waitForSelector(item(houseNumber, 'accepted'), { timeout: 30_000 });
  assert.match(await page.textContent(item(houseNumber, 'accepted')), /94119 [2-9CFGHJMPQRVWX]{4}\+[2-9CFGHJMPQRVWX]{3}/);
  assert.equal(world.diaba.sql(`SELECT count(*) FROM address WHERE house_number = '${houseNumber}'`), '1');
  await page.waitForFunction(() => document.getElementById('parcel').textContent.startsWith('31135/1/1'));
  assert.equal(
    world.diaba.sql(`SELECT status || ' ' || ward_code FROM address WHERE house_number = '${houseNumber}'`),
    'submitted 31135',
  );
  // Sending again (a retry after a lost answer) changes nothing: same key, same record.
  await page.evaluate(async () => {
    const db = await new Promise((resolve) => { const r = indexedDB.open('diaba-field'); r.onsuccess = () => resolve(r.result); });
    const tx = db.transaction('outbox', 'readwrite');
    const store = tx.objectStore('outbox');
    await new Promise((resolve) => {
      store.getAll().onsuccess = (e) => { for (const i of e.target.result) store.put({ ...i, state: 'sent' }); resolve(); };
    });
    await new Promise((resolve) => { tx.oncomplete = resolve; });
  });
  await page.click('#sync');
  await page.waitForSelector(item(houseNumber, 'accepted'));
  assert.equal(world.diaba.sql(`SELECT count(*) FROM address WHERE house_number = '${houseNumber}'`), '1');
  await page.screenshot({ path: join(ARTEFACTS, 'field-phone-accepted.png'), fullPage: true });
  assert.deepEqual(errors.filter((e) => !offlineFailure(e)), []);
  await context.close();
});

test('a capture with a poor GPS fix is rejected with the reason', async () => {
  const houseNumber = `R${Date.now() % 1e6}`;
  const { context, page, errors } = await phone(50);
  await capture(page, houseNumber);
  await page.waitForSelector(item(houseNumber, 'rejected'), { timeout: 30_000 });
  const reason = await page.textContent(`${item(houseNumber, 'rejected')} .reason`);
  assert.match(reason, /accurate to 50 m, worse than the 15 m/);
  assert.equal(world.diaba.sql(`SELECT count(*) FROM address WHERE house_number = '${houseNumber}'`), '0');
  await page.screenshot({ path: join(ARTEFACTS, 'field-phone-rejected.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('the ward pack gives a map with no network at all', async () => {
  const { context, page, errors } = await phone(4, DESKTOP);
  await page.reload(); // now under the service worker, which keeps the map style
  await page.waitForSelector('#work:not([hidden])');
  await page.click('#pack');
  // Baking the pack is real work (zooms 12–18 of the ward, on a debug build): wait for its
  // outcome, whichever it is, and show it if it is not the pack.
  await page.waitForFunction(() => document.getElementById('pack-state').textContent !== '…', null, { timeout: 120_000 });
  assert.match(await page.textContent('#pack-state'), /MB\)$/, 'the pack is downloaded and kept');
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('#work:not([hidden])');
  await mapIdle(page);
  const source = await page.evaluate(() => window.diaba.map.getStyle().sources.diaba.url);
  assert.equal(source, 'pmtiles://ward-31135');
  const parcels = await page.evaluate(() => window.diaba.map.queryRenderedFeatures({ layers: ['parcels-fill'] }).length);
  assert.ok(parcels > 10, `${parcels} parcels drawn offline`);
  // The pack's glyphs came with it: lot labels are drawn offline too.
  await page.evaluate(() => window.diaba.map.jumpTo({ zoom: 18.5 }));
  await mapIdle(page);
  const labels = await page.evaluate(() => window.diaba.map.queryRenderedFeatures({ layers: ['parcel-labels'] }).length);
  assert.ok(labels > 5, `${labels} lot labels drawn offline`);
  await page.screenshot({ path: join(ARTEFACTS, 'field-desktop-offline-map.png') });
  assert.deepEqual(errors.filter((e) => !offlineFailure(e)), []);
  await context.close();
});
