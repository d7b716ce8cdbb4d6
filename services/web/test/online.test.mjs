// The fully online holder-change service, end to end in Chromium against real parts: the
// citizen signs in at a real OpenID provider (oidc-provider on loopback), applies with a
// document, the office asks for a missing paper, the citizen sends it, the office
// approves, the citizen sees the endorsed certificate, and the e-mails arrive at a real
// SMTP sink. A second citizen can neither read nor touch the first one's dossier.
// Every person here is synthetic (the demo's parties); the IdP accounts are made for it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { useDiaba, collectErrors, freePort, ARTEFACTS, PHONE, DESKTOP } from './harness.mjs';
import { startIdp } from './fixtures/idp.mjs';
import { startSmtpSink } from './fixtures/smtp.mjs';

const WARD = '31135';
const EMAIL = 'nguoi-nop@example.test';
const PDF = Buffer.from('%PDF-1.4\n% don Mau 18 (synthetic test file)\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n');
// The smallest PNG: 1×1, one grey pixel.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==', 'base64');

let idp;
let smtp;
let idpPort;
let holder; // { party, personalId, name, serial }
let code;

const world = useDiaba(before, after, async (w) => {
  const row = w.diaba.sql(`SELECT p.id || '|' || v.personal_id || '|' || v.name || '|' || c.serial
    FROM land_right r JOIN party p ON p.id = r.party_id AND p.kind = 'person'
    JOIN party_version v ON v.party_id = p.id AND v.valid_to IS NULL
    JOIN certificate c ON c.id = r.certificate_id AND c.status = 'valid'
    JOIN parcel_version pv ON pv.parcel_id = r.parcel_id AND pv.valid_to IS NULL
    WHERE r.valid_to IS NULL AND v.personal_id IS NOT NULL AND pv.ward_code = '${WARD}' ORDER BY p.id LIMIT 1`);
  const [party, personalId, name, serial] = row.split('|');
  holder = { party, personalId, name, serial };
  // Someone else with a valid personal ID (same birth code, other serial digits) who holds nothing.
  const stranger = `${personalId.slice(0, 6)}${String((Number(personalId.slice(6)) + 1) % 1_000_000).padStart(6, '0')}`;
  idp = await startIdp({
    port: idpPort,
    clients: [{ client_id: 'diaba', client_secret: 'test-secret (synthetic)', redirect_uris: [`${w.diaba.url}/auth/callback`] }],
    accounts: [
      { sub: 'citizen-a', name, personal_id: personalId },
      { sub: 'citizen-b', name: 'Người khác (synthetic)', personal_id: stranger },
    ],
  });
}, async () => {
  idpPort = await freePort();
  smtp = await startSmtpSink();
  return {
    port: await freePort(),
    args: ['--oidc-issuer', `http://127.0.0.1:${idpPort}`, '--oidc-client-id', 'diaba', '--oidc-client-secret', 'test-secret (synthetic)',
      '--smtp-url', `smtp://127.0.0.1:${smtp.port}`, '--mail-from', 'Văn phòng đăng ký thử nghiệm <vpdk@example.test>'],
  };
});

after(async () => {
  await idp?.stop();
  await smtp?.stop();
});

async function signInCitizen(account, viewport) {
  const context = await world.browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${world.diaba.url}/apply`);
  await page.click('#signin-link');
  await page.waitForSelector('#login'); // the provider's own page
  assert.ok(page.url().startsWith(`http://127.0.0.1:${idpPort}/`), page.url());
  await page.fill('#login', account);
  await page.click('#signin');
  await page.waitForSelector('#work:not([hidden])');
  assert.ok(page.url().startsWith(`${world.diaba.url}/apply`), page.url());
  // Signed out, the page's first question (/v1/me) is answered 401, as it should be; from
  // here on nothing may fail.
  const errors = collectErrors(page);
  return { context, page, errors };
}

async function openDossier(page, state) {
  await page.reload();
  await page.waitForSelector(`#dossiers li[data-code="${code}"]`);
  await page.click(`#dossiers li[data-code="${code}"] button`);
  await page.waitForSelector(`#dossier[data-state="${state}"]`);
}

async function officeOpens(page, state) {
  await page.click(`#queue li[data-code="${code}"] button`);
  await page.waitForSelector(`#dossier[data-state="${state}"]`);
}

test('a citizen applies online, the office requisitions and approves, the citizen sees the endorsement and is e-mailed', async () => {
  const citizen = await signInCitizen('citizen-a', PHONE);
  const { page } = citizen;
  assert.match(await page.textContent('#who'), new RegExp(holder.personalId));
  // Form Mẫu 18 is pre-filled from the register: the holder's certificate is offered.
  const offered = await page.locator('#certificate option').evaluateAll((options) => options.map((o) => o.value));
  assert.ok(offered.includes(holder.serial), `${holder.serial} among ${offered}`);
  await page.selectOption('#certificate', holder.serial);
  await page.fill('#new-address', 'Số 9 Mậu Thân, phường Ninh Kiều (synthetic)');
  await page.fill('#reason', 'Đổi nơi thường trú (synthetic)');
  await page.fill('#email', EMAIL);
  await page.setInputFiles('#document', { name: 'don-mau-18.pdf', mimeType: 'application/pdf', buffer: PDF });
  await page.click('#form button[type=submit]');
  await page.waitForSelector('#dossier[data-state="submitted"]');
  code = (await page.textContent('#code')).trim();
  assert.match(code, /^CT-20\d\d-\d{6}$/);
  assert.match(await page.textContent('#documents'), /don-mau-18\.pdf/);
  const sha = world.diaba.sql(`SELECT d.sha256 FROM application_document d JOIN application a ON a.id = d.application_id WHERE a.code = '${code}'`);
  assert.ok(existsSync(join(world.diaba.dataDir, 'documents', sha.slice(0, 2), sha)), 'the document is kept under the data directory by its SHA-256');
  assert.equal(world.diaba.sql(`SELECT channel || ' ' || party_id FROM application WHERE code = '${code}'`), `online ${holder.party}`);
  await page.screenshot({ path: join(ARTEFACTS, 'apply-phone.png'), fullPage: true });

  // The office receives it and asks for a missing paper.
  const office = await world.browser.newPage({ viewport: DESKTOP });
  const officeErrors = collectErrors(office);
  await office.goto(`${world.diaba.url}/office`);
  await office.fill('#token', world.diaba.user('office-registrar', 'registrar', WARD));
  await office.click('#signin button[type=submit]');
  await officeOpens(office, 'submitted');
  assert.match(await office.textContent('#documents'), /don-mau-18\.pdf/);
  await office.click('[data-step=receive]');
  await office.waitForSelector('#dossier[data-state="received"]');
  await office.fill('#note', 'Bản sao Căn cước công dân (synthetic)');
  await office.click('[data-step=requisition]');
  await office.waitForSelector('#dossier[data-state="requisitioned"]');
  const asked = await smtp.waitFor((m) => m.to.includes(EMAIL) && m.subject.includes(code) && m.text.includes('Bản sao Căn cước'));
  assert.match(asked.subject, /cần bổ sung giấy tờ/);

  // The citizen sees what is missing, sends it, and the clock starts again.
  await openDossier(page, 'requisitioned');
  assert.match(await page.textContent('#timeline'), /Bản sao Căn cước công dân/);
  await page.setInputFiles('#more', { name: 'can-cuoc.png', mimeType: 'image/png', buffer: PNG });
  await page.click('#resubmit button[type=submit]');
  await page.waitForSelector('#dossier[data-state="in_review"]');

  // The office approves: the change is endorsed on the certificate.
  await officeOpens(office, 'in_review');
  assert.equal(await office.locator('#documents li').count(), 2);
  await office.click('[data-step=approve]');
  await office.waitForSelector('#dossier[data-state="approved"]');
  await office.screenshot({ path: join(ARTEFACTS, 'office-desktop.png'), fullPage: true });

  await openDossier(page, 'approved');
  const endorsement = await page.textContent(`.certificate[data-serial="${holder.serial}"] .endorsements`);
  assert.match(endorsement, /Số 9 Mậu Thân/);
  assert.match(endorsement, new RegExp(code));
  assert.doesNotMatch(await page.textContent('#dossier'), /office-registrar/, 'staff are not named to the citizen');
  await page.screenshot({ path: join(ARTEFACTS, 'apply-approved-phone.png'), fullPage: true });
  const approved = await smtp.waitFor((m) => m.to.includes(EMAIL) && m.subject.includes(code) && /được duyệt/.test(m.subject));
  assert.match(approved.text, new RegExp(code));
  assert.equal(world.diaba.sql(`SELECT address FROM party_version WHERE party_id = ${holder.party} AND valid_to IS NULL`),
    'Số 9 Mậu Thân, phường Ninh Kiều (synthetic)');
  assert.deepEqual(citizen.errors, []);
  assert.deepEqual(officeErrors, []);
  await citizen.context.close();
  await office.close();
});

test("a citizen can neither read nor act on another citizen's dossier, nor apply for a certificate not theirs", async () => {
  assert.ok(code, 'the first test made a dossier');
  const { context, page } = await signInCitizen('citizen-b', PHONE);
  const answers = await page.evaluate(async ({ code, serial }) => {
    const read = await fetch(`/v1/applications/${code}`);
    const documents = await fetch(`/v1/applications/${code}/documents`);
    const withdraw = await fetch(`/v1/applications/${code}/withdraw`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'If-Match': '"1"' }, body: '{}' });
    const list = await (await fetch('/v1/applications')).json();
    const apply = await fetch('/v1/applications', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ certificate: serial, changes: { name: 'Kẻ mạo danh (synthetic)' }, reason: 'thử' }) });
    return { read: read.status, documents: documents.status, withdraw: withdraw.status, list, apply: apply.status, detail: (await apply.json()).detail };
  }, { code, serial: holder.serial });
  assert.deepEqual([answers.read, answers.documents, answers.withdraw, answers.apply], [403, 403, 403, 403], JSON.stringify(answers));
  assert.deepEqual(answers.list, []);
  assert.match(answers.detail, /no holder with your personal ID/);
  assert.equal(world.diaba.sql(`SELECT state FROM application WHERE code = '${code}'`), 'approved', 'nothing changed');
  // The public status says state and dates, nothing personal.
  const status = await page.evaluate(async (code) => (await fetch(`/v1/applications/${code}/status`)).text(), code);
  for (const personal of [holder.name, holder.personalId, 'Mậu Thân', EMAIL]) assert.ok(!status.includes(personal), `${personal} in ${status}`);
  await context.close();
});
