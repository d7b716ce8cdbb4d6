// The registrar's review page: pending household submissions of a ward on a map and in a
// list; verify or reject each (with If-Match, so two officers never overwrite each other).
import * as maplibregl from 'maplibre-gl';
import { t, languageSwitch } from './lib/i18n.js';
import { api, escapeHtml } from './lib/api.js';
import { tokenSession } from './lib/session.js';

const $ = (id) => document.getElementById(id);
let pending = [];
let map = null;

async function load() {
  const ward = $('ward').value;
  const { json } = await api(`/v1/addresses/submissions?ward=${ward}&status=pending&limit=500`, { token: session.token });
  pending = json.submissions;
  render();
}

function render() {
  $('count').textContent = String(pending.length);
  $('list').innerHTML = pending.length
    ? pending.map((a, i) => `<li data-id="${a.id}" data-state="${a.status}">
        <span class="text">${escapeHtml([a.house_number, a.street, a.hamlet].filter(Boolean).join(', '))}
          ${a.head_name ? `– ${escapeHtml(a.head_name)}` : ''} <code>${escapeHtml(a.vpostcode)}</code>
          ±${Math.round(a.accuracy_m)} m · ${escapeHtml(a.team ?? '')}</span>
        ${a.status === 'submitted'
          ? `<button type="button" data-i="${i}" data-action="verify" class="primary">${escapeHtml(t('review.verify'))}</button>
             <input data-reason="${i}" aria-label="${escapeHtml(t('review.reason'))}" placeholder="${escapeHtml(t('review.reason'))}">
             <button type="button" data-i="${i}" data-action="reject">${escapeHtml(t('review.reject'))}</button>`
          : `<span class="state state-${a.status === 'verified' ? 'accepted' : 'rejected'}">${escapeHtml(t(`review.${a.status}`))}</span>`}
      </li>`).join('')
    : `<li>${escapeHtml(t('review.none'))}</li>`;
  const features = pending.map((a) => ({ type: 'Feature', id: a.id, geometry: { type: 'Point', coordinates: [a.lon, a.lat] }, properties: { status: a.status } }));
  map?.getSource('pending')?.setData({ type: 'FeatureCollection', features });
  if (features.length && map) {
    const lons = features.map((f) => f.geometry.coordinates[0]);
    const lats = features.map((f) => f.geometry.coordinates[1]);
    map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]], { padding: 40, maxZoom: 18, duration: 0 });
  }
}

$('list').addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const item = pending[button.dataset.i];
  const reason = document.querySelector(`[data-reason="${button.dataset.i}"]`)?.value.trim();
  $('error').hidden = true;
  try {
    const { json } = await api(`/v1/addresses/submissions/${item.id}/${button.dataset.action}`, {
      token: session.token,
      method: 'POST',
      headers: { 'If-Match': `"${item.version}"` },
      body: button.dataset.action === 'reject' ? { reason } : {},
    });
    pending[button.dataset.i] = json.address;
    render();
  } catch (error) {
    $('error').textContent = error.message;
    $('error').hidden = false;
  }
});

function start() {
  $('signin').hidden = true;
  $('work').hidden = false;
  const { me } = session;
  $('who').textContent = `${me.name} (${me.role})`;
  $('ward').innerHTML = me.wards.map((w) => `<option>${escapeHtml(w)}</option>`).join('');
  $('ward').addEventListener('change', () => load().catch(showError));
  map = new maplibregl.Map({ container: 'map', style: '/tiles/style.json', center: [105.77, 10.03], zoom: 13, attributionControl: { compact: true } });
  map.on('load', () => {
    map.addSource('pending', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    map.addLayer({
      id: 'pending', type: 'circle', source: 'pending',
      paint: { 'circle-radius': 7, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
        'circle-color': ['match', ['get', 'status'], 'verified', '#2e8b57', 'rejected', '#c0392b', '#e67e22'] },
    });
    render();
  });
  load().catch(showError);
}

function showError(error) {
  $('error').textContent = error.message;
  $('error').hidden = false;
}

// A shared office PC: the session lasts as long as this tab.
let session = tokenSession({
  storage: sessionStorage,
  key: 'diaba.review',
  roles: ['registrar', 'admin'],
  onSignedIn: (signedIn) => { session = signedIn; start(); },
});
languageSwitch($('lang'), render);
if (session) start();
else $('signin').hidden = false;
