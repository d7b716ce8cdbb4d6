// The registrar's review page: the ward's pending submissions on a map and a list, and
// decisions that reach PostGIS (and a rejection that needs its reason).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useDiaba, collectErrors, mapIdle, ARTEFACTS, PHONE, DESKTOP } from './harness.mjs';

const world = useDiaba(before, after);

async function signIn(token, viewport) {
  const page = await world.browser.newPage({ viewport });
  const errors = collectErrors(page);
  await page.goto(`${world.diaba.url}/review`);
  await page.fill('#token', token);
  await page.click('#signin button[type=submit]');
  return { page, errors };
}

test('a registrar verifies and rejects pending submissions of their ward', async () => {
  const token = world.diaba.user('review-registrar', 'registrar', '31135');
  const pending = Number(world.diaba.sql("SELECT count(*) FROM address WHERE ward_code = '31135' AND status = 'submitted'"));
  assert.ok(pending >= 3, `the demo has ${pending} pending submissions in 31135`);
  const { page, errors } = await signIn(token, DESKTOP);
  await page.waitForSelector('#list li[data-id]');
  assert.equal(await page.locator('#list li[data-state=submitted]').count(), pending);
  assert.equal(await page.textContent('#count'), String(pending));
  await page.waitForFunction(() => document.querySelector('#map canvas'));
  await page.screenshot({ path: join(ARTEFACTS, 'review-desktop.png') });

  const [first, second] = await page.locator('#list li[data-id]').evaluateAll((items) => items.slice(0, 2).map((li) => li.dataset.id));
  await page.click(`#list li[data-id="${first}"] button[data-action=verify]`);
  await page.waitForSelector(`#list li[data-id="${first}"][data-state=verified]`);
  assert.equal(world.diaba.sql(`SELECT status FROM address WHERE id = ${first}`), 'verified');

  // A rejection without a reason is refused by the server, and the page says why.
  await page.click(`#list li[data-id="${second}"] button[data-action=reject]`);
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /say why/);
  assert.equal(world.diaba.sql(`SELECT status FROM address WHERE id = ${second}`), 'submitted');
  await page.fill(`#list li[data-id="${second}"] input`, 'Trùng với hộ số 5 (synthetic test)');
  await page.click(`#list li[data-id="${second}"] button[data-action=reject]`);
  await page.waitForSelector(`#list li[data-id="${second}"][data-state=rejected]`);
  assert.equal(world.diaba.sql(`SELECT status || ': ' || status_reason FROM address WHERE id = ${second}`), 'rejected: Trùng với hộ số 5 (synthetic test)');
  assert.deepEqual(errors.filter((e) => !e.includes('status of 422')), [], 'only the refused rejection failed');
  await page.close();
});

test('a collector cannot sign in to review, and a phone-sized review page works', async () => {
  const collector = world.diaba.user('review-collector', 'collector', '31135');
  const { page, errors } = await signIn(collector, PHONE);
  await page.waitForSelector('#signin-error:not([hidden])');
  assert.equal(await page.isHidden('#work'), true);
  await page.close();
  assert.deepEqual(errors.filter((e) => !/401|403/.test(e)), []);

  const registrar = world.diaba.user('review-registrar-2', 'registrar', '31147');
  const phone = await signIn(registrar, PHONE);
  await phone.page.waitForSelector('#list li[data-id]');
  await phone.page.screenshot({ path: join(ARTEFACTS, 'review-phone.png'), fullPage: true });
  assert.deepEqual(phone.errors, []);
  await phone.page.close();
});
