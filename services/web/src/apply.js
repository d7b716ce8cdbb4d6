// The citizen's page (phone first, Vietnamese by default): sign in at the OpenID provider,
// fill form Mẫu 18 from the register's record of their parties, attach papers, follow the
// dossier's timeline, send missing papers when asked, and see the endorsed certificate.
import { t, languageSwitch } from './lib/i18n.js';
import { api, escapeHtml } from './lib/api.js';

const $ = (id) => document.getElementById(id);
let me = null;
let open = null; // the dossier shown

function showError(error) {
  $('error').textContent = error.message;
  $('error').hidden = false;
}

/** Uploads the chosen file of `input` to dossier `code`; nothing when none is chosen. */
async function upload(code, input, kind) {
  const file = input.files[0];
  if (!file) return;
  const path = `/v1/applications/${code}/documents?kind=${kind}&name=${encodeURIComponent(file.name)}`;
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': file.type || 'application/octet-stream' }, body: file });
  if (!response.ok) throw new Error((await response.json().catch(() => null))?.detail ?? `HTTP ${response.status}`);
  input.value = '';
}

function timeline(events) {
  return events.map((e) => `<li data-state="${escapeHtml(e.to_state)}"><time>${new Date(e.at).toLocaleString('vi-VN')}</time>
    ${escapeHtml(t(`state.${e.to_state}`))}${e.note ? `: <em>${escapeHtml(e.note)}</em>` : ''}</li>`).join('');
}

function renderDossier(d) {
  open = d;
  const article = $('dossier');
  article.hidden = false;
  article.dataset.state = d.state;
  const canWithdraw = ['submitted', 'received', 'in_review', 'requisitioned', 'suspended'].includes(d.state);
  const certificates = d.certificates.map((c) => `<section class="certificate" data-serial="${escapeHtml(c.serial)}">
      <h4>${escapeHtml(t('apply.certificate'))} ${escapeHtml(c.serial)} – ${escapeHtml(t(`certificate.${c.status}`))}</h4>
      <ul class="endorsements">${c.endorsements.map((e) => `<li>${escapeHtml(e.endorsed_on)}: ${escapeHtml(e.text)}</li>`).join('')}</ul>
    </section>`).join('');
  article.innerHTML = `<h3 id="code">${escapeHtml(d.code)}</h3>
    <p><span data-i18n="apply.state">${escapeHtml(t('apply.state'))}</span>: <strong id="state">${escapeHtml(t(`state.${d.state}`))}</strong>
      ${d.due_on ? ` · ${escapeHtml(t('apply.due'))} ${escapeHtml(d.due_on)}` : ''}</p>
    <img class="qr" src="/v1/applications/${encodeURIComponent(d.code)}/qr.svg" alt="QR" width="120" height="120">
    <ol id="timeline" class="timeline">${timeline(d.events)}</ol>
    <h4>${escapeHtml(t('apply.documents'))}</h4>
    <ul id="documents">${d.documents.map((doc) => `<li>${escapeHtml(doc.file_name)} (${escapeHtml(doc.media_type)})</li>`).join('')}</ul>
    ${d.state === 'requisitioned' ? `<form id="resubmit" class="form">
        <label>${escapeHtml(t('apply.more'))} <input id="more" type="file" accept="application/pdf,image/jpeg,image/png"></label>
        <button type="submit" class="primary">${escapeHtml(t('apply.resubmit'))}</button></form>` : ''}
    ${canWithdraw ? `<button id="withdraw" type="button">${escapeHtml(t('apply.withdraw'))}</button>` : ''}
    ${certificates}`;
}

async function step(name) {
  const { json } = await api(`/v1/applications/${open.code}/${name}`, { method: 'POST', headers: { 'If-Match': `"${open.version}"` }, body: {} });
  renderDossier(json);
  await loadDossiers();
}

$('dossier').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await upload(open.code, $('more'), 'other');
    await step('resubmit');
  } catch (error) { showError(error); }
});
$('dossier').addEventListener('click', async (event) => {
  if (event.target.id !== 'withdraw') return;
  try { await step('withdraw'); } catch (error) { showError(error); }
});

async function loadDossiers() {
  const { json } = await api('/v1/applications');
  $('dossiers').innerHTML = json.map((d) => `<li data-code="${escapeHtml(d.code)}" data-state="${escapeHtml(d.state)}">
      <button type="button" class="link">${escapeHtml(d.code)}</button> ${escapeHtml(t(`state.${d.state}`))}</li>`).join('')
    || `<li>${escapeHtml(t('apply.none'))}</li>`;
}

$('dossiers').addEventListener('click', async (event) => {
  const code = event.target.closest('li[data-code]')?.dataset.code;
  if (!code) return;
  try { renderDossier((await api(`/v1/applications/${code}`)).json); } catch (error) { showError(error); }
});

$('form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('error').hidden = true;
  const value = (id) => $(id).value.trim() || undefined;
  try {
    const { json } = await api('/v1/applications', {
      method: 'POST',
      body: {
        certificate: $('certificate').value,
        changes: { name: value('new-name'), personal_id: value('new-id'), address: value('new-address') },
        reason: $('reason').value.trim(),
        contact_email: value('email'),
      },
    });
    await upload(json.code, $('document'), 'application_form');
    renderDossier((await api(`/v1/applications/${json.code}`)).json);
    $('form').reset();
    await loadDossiers();
  } catch (error) { showError(error); }
});

function start() {
  $('work').hidden = false;
  $('who').textContent = `${me.citizen.name}${me.citizen.personal_id ? ` (${me.citizen.personal_id})` : ''}`;
  $('email').value = me.citizen.email ?? '';
  // Form Mẫu 18 pre-filled: the certificates of the citizen's parties.
  const certificates = new Map();
  for (const holding of me.parties) {
    for (const right of holding.rights) {
      if (right.certificate) certificates.set(right.certificate, `${right.certificate} – ${right.ward_code}/${right.sheet}/${right.number}`);
    }
  }
  $('certificate').innerHTML = [...certificates].map(([serial, label]) => `<option value="${escapeHtml(serial)}">${escapeHtml(label)}</option>`).join('');
  const party = me.parties[0]?.party;
  $('holder').textContent = party ? `${party.name}${party.address ? `, ${party.address}` : ''}` : t('apply.no_holding');
  loadDossiers().catch(showError);
}

$('signout').addEventListener('click', async () => {
  await fetch('/auth/logout', { method: 'POST' });
  location.reload();
});

$('lookup').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const { json } = await api(`/v1/applications/${encodeURIComponent($('lookup-code').value.trim())}/status`);
    $('public-timeline').innerHTML = timeline(json.timeline.map((e) => ({ ...e, to_state: e.state })));
  } catch (error) { $('public-timeline').innerHTML = `<li class="error">${escapeHtml(error.message)}</li>`; }
});

languageSwitch($('lang'), () => { if (open) renderDossier(open); });
try {
  const { json } = await api('/v1/me');
  if (!json.citizen) throw new Error('staff token');
  me = json;
  start();
} catch {
  $('signin').hidden = false;
  const code = new URLSearchParams(location.search).get('code');
  if (code) { $('lookup-code').value = code; $('lookup').requestSubmit(); }
}
