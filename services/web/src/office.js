// The registrar's dossier queue: dossiers of a ward by state or overdue, with due dates;
// one dossier beside its certificate, documents and the population register's answer;
// receive, requisition (what is missing), approve, refuse, suspend … each with If-Match.
import { t, languageSwitch } from './lib/i18n.js';
import { api, escapeHtml } from './lib/api.js';
import { tokenSession } from './lib/session.js';

const $ = (id) => document.getElementById(id);
let open = null;

/** The steps the office may take from each state (the server decides; this only offers). */
const STEPS = {
  submitted: ['receive', 'refuse'],
  received: ['review', 'requisition', 'refuse', 'suspend'],
  in_review: ['approve', 'requisition', 'refuse', 'suspend'],
  requisitioned: ['refuse', 'suspend'],
  approved: ['issue'],
  result_issued: ['close'],
  suspended: ['resume'],
};
const NEEDS_NOTE = ['requisition', 'refuse', 'suspend'];

async function refresh() {
  await Promise.all([loadQueue(), loadFigures()]);
}

function showError(error) {
  $('error').textContent = error.message;
  $('error').hidden = false;
}

async function loadQueue() {
  const query = new URLSearchParams({ ward: $('ward').value });
  if ($('status').value) query.set('status', $('status').value);
  if ($('overdue').checked) query.set('overdue', 'true');
  const { json } = await api(`/v1/applications?${query}`, { token: session.token });
  $('queue').innerHTML = json.map((d) => `<li data-code="${escapeHtml(d.code)}" data-state="${escapeHtml(d.state)}">
      <button type="button" class="link">${escapeHtml(d.code)}</button> ${escapeHtml(t(`state.${d.state}`))}
      ${d.due_on ? `· ${escapeHtml(t('apply.due'))} ${escapeHtml(d.due_on)}` : ''} · ${escapeHtml(d.channel)}</li>`).join('')
    || `<li>${escapeHtml(t('apply.none'))}</li>`;
}

/** The population register's answer on receipt: found or not, and what differs. */
function populationCheck(check) {
  if (!check) return '';
  const verdict = !check.found ? t('office.population_unknown')
    : check.mismatches.length ? t('office.population_differs') : t('office.population_agrees');
  const rows = check.mismatches.map((m) => `<li>${escapeHtml(m.field)}: ${escapeHtml(m.party ?? '–')} ≠ ${escapeHtml(m.register ?? '–')}</li>`).join('');
  return `<div id="population" data-found="${check.found}" data-mismatches="${check.mismatches.length}">
    <p>${escapeHtml(t('office.population'))} (${escapeHtml(check.personal_id)}): <strong>${escapeHtml(verdict)}</strong></p><ul>${rows}</ul></div>`;
}

async function loadFigures() {
  const { json } = await api(`/v1/applications/figures?ward=${$('ward').value}`, { token: session.token });
  const f = json[0] ?? { received: 0, on_time: 0, late: 0, overdue: 0, due_soon: 0 };
  $('figures').textContent = ['received', 'on_time', 'late', 'overdue', 'due_soon'].map((k) => `${t(`figures.${k}`)}: ${f[k]}`).join(' · ');
}

function render(d) {
  open = d;
  const article = $('dossier');
  article.hidden = false;
  article.dataset.state = d.state;
  const changes = Object.entries(d.changes).map(([k, v]) => `<li>${escapeHtml(t(`change.${k}`))}: ${escapeHtml(v)}</li>`).join('');
  const population = populationCheck(d.population);
  const parcels = d.certificates.flatMap((c) => c.parcels.map((p) => `${p.ward_code}/${p.sheet}/${p.number}`));
  const steps = (STEPS[d.state] ?? []).map((s) => `<button type="button" data-step="${s}" class="${s === 'approve' || s === 'receive' ? 'primary' : ''}">${escapeHtml(t(`step.${s}`))}</button>`).join(' ');
  article.innerHTML = `<h3>${escapeHtml(d.code)} – <span id="state">${escapeHtml(t(`state.${d.state}`))}</span></h3>
    <p>${escapeHtml(d.applicant_name)} · ${escapeHtml(t('apply.certificate'))} ${escapeHtml(d.certificate)}
      (${escapeHtml(t('office.parcels'))} <span id="parcels">${escapeHtml(parcels.join(', '))}</span>) · ${escapeHtml(d.channel)}
      ${d.due_on ? ` · ${escapeHtml(t('apply.due'))} ${escapeHtml(d.due_on)} (${d.working_days_left ?? '–'})` : ''}</p>
    <ul>${changes}</ul><p>${escapeHtml(t('apply.reason'))}: ${escapeHtml(d.reason)}</p>
    <p>${escapeHtml(t('office.fee'))}: ${d.paid_vnd} / ${d.fee_vnd} VND</p>
    ${population}
    <h4>${escapeHtml(t('apply.documents'))}</h4>
    <ul id="documents">${d.documents.map((doc) => `<li><button type="button" class="link" data-document="${doc.id}">${escapeHtml(doc.file_name)}</button>
      (${escapeHtml(doc.media_type)}, ${escapeHtml(doc.by)})</li>`).join('')}</ul>
    <ol class="timeline">${d.events.map((e) => `<li>${new Date(e.at).toLocaleString('vi-VN')} ${escapeHtml(e.step)} → ${escapeHtml(e.to_state)}
      ${e.actor ? `(${escapeHtml(e.actor)})` : ''}${e.note ? `: <em>${escapeHtml(e.note)}</em>` : ''}</li>`).join('')}</ol>
    <label>${escapeHtml(t('office.note'))} <input id="note" maxlength="2000"></label>
    <p id="steps">${steps}</p>`;
}

$('dossier').addEventListener('click', async (event) => {
  const document_ = event.target.dataset.document;
  const step = event.target.dataset.step;
  $('error').hidden = true;
  try {
    if (document_) {
      // The file needs the token, so it is fetched and shown from memory.
      const response = await fetch(`/v1/applications/${open.code}/documents/${document_}`, { headers: { Authorization: `Bearer ${session.token}` } });
      window.open(URL.createObjectURL(await response.blob()), '_blank');
    } else if (step) {
      const note = $('note').value.trim();
      if (NEEDS_NOTE.includes(step) && !note) throw new Error(t('office.note_needed'));
      const { json } = await api(`/v1/applications/${open.code}/${step}`, {
        token: session.token, method: 'POST', headers: { 'If-Match': `"${open.version}"` }, body: note ? { note } : {},
      });
      render(json);
      await refresh();
    }
  } catch (error) { showError(error); }
});

$('queue').addEventListener('click', async (event) => {
  const code = event.target.closest('li[data-code]')?.dataset.code;
  if (!code) return;
  try { render((await api(`/v1/applications/${code}`, { token: session.token })).json); } catch (error) { showError(error); }
});

function start() {
  $('signin').hidden = true;
  $('work').hidden = false;
  $('who').textContent = `${session.me.name} (${session.me.role})`;
  $('ward').innerHTML = session.me.wards.map((w) => `<option>${escapeHtml(w)}</option>`).join('');
  for (const id of ['ward', 'status', 'overdue']) $(id).addEventListener('change', () => refresh().catch(showError));
  refresh().catch(showError);
}

// A shared office PC: the session lasts as long as this tab.
let session = tokenSession({
  storage: sessionStorage,
  key: 'diaba.office',
  roles: ['registrar', 'admin'],
  onSignedIn: (signedIn) => { session = signedIn; start(); },
});
languageSwitch($('lang'), () => { if (open) render(open); });
if (session) start();
else $('signin').hidden = false;
