// The field page: a collector on a phone, often offline. Captures go to the IndexedDB
// outbox first and are sent in batches with their Idempotency-Keys whenever the network
// is there, so a retry never makes a second household.
import * as maplibregl from 'maplibre-gl';
import { t, languageSwitch } from './lib/i18n.js';
import { api, circle, escapeHtml } from './lib/api.js';
import { enqueue, items, update } from './lib/queue.js';
import { downloadPack, packSourceUrl } from './lib/pack.js';
import { tokenSession } from './lib/session.js';

const BATCH = 500; // the server's batch limit
const NEARBY_RADIUS_M = 30;
const $ = (id) => document.getElementById(id);

let position = null; // { lon, lat, accuracy }
let lastLookup = null;
let aroundIsStale = true; // the parcel and nearby list need asking again (offline, or it failed)
let map = null;

// ---- network state --------------------------------------------------------------------
function showNetwork() {
  const online = navigator.onLine;
  $('network').textContent = t(online ? 'field.online' : 'field.offline');
  $('network').className = `status ${online ? 'online' : 'offline'}`;
}
addEventListener('online', () => {
  showNetwork();
  sync();
  // Answers and tiles that failed while offline: ask again.
  refreshAround();
  try {
    map?.getSource('diaba')?.reload?.();
  } catch (error) {
    console.warn('map reload:', error.message);
  }
});
addEventListener('offline', showNetwork);

// ---- map and position -----------------------------------------------------------------
function wards() {
  return session.me.wards.length ? session.me.wards : lastLookup?.ward ? [lastLookup.ward.code] : [];
}

async function startMap() {
  const style = await (await fetch('/tiles/style.json')).json();
  const packUrl = wards().length ? await packSourceUrl(wards()[0]) : null;
  if (packUrl) {
    style.sources.diaba = { type: 'vector', url: packUrl };
    $('pack-state').textContent = t('field.pack.ready');
  }
  map = new maplibregl.Map({
    container: 'map', style, center: [105.77, 10.03], zoom: 16, maxZoom: 20, attributionControl: { compact: true },
  });
  // Offline, tiles that are not in a pack cannot load; the status bar already says so.
  map.on('error', (event) => { if (navigator.onLine) console.warn('map:', event.error?.message); });
  map.on('load', () => {
    map.addSource('me', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    map.addLayer({ id: 'me-accuracy', type: 'fill', source: 'me', filter: ['==', '$type', 'Polygon'], paint: { 'fill-color': '#1f5fbf', 'fill-opacity': 0.15 } });
    map.addLayer({ id: 'me-dot', type: 'circle', source: 'me', filter: ['==', '$type', 'Point'], paint: { 'circle-color': '#1f5fbf', 'circle-radius': 7, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
    if (position) showPosition();
  });
}

function watchPosition() {
  if (!navigator.geolocation) return;
  navigator.geolocation.watchPosition(
    (fix) => {
      const moved = !position || Math.hypot(fix.coords.longitude - position.lon, fix.coords.latitude - position.lat) > 3e-5;
      position = { lon: fix.coords.longitude, lat: fix.coords.latitude, accuracy: fix.coords.accuracy };
      showPosition();
      if (moved || aroundIsStale) refreshAround();
    },
    () => { $('position').textContent = t('field.waiting_gps'); },
    { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 },
  );
}

function showPosition() {
  const { lon, lat, accuracy } = position;
  $('position').textContent = `${lat.toFixed(6)}, ${lon.toFixed(6)} (${t('field.accuracy')} ±${Math.round(accuracy)} m)`;
  const me = { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: {} };
  map?.getSource('me')?.setData({ type: 'FeatureCollection', features: [circle([lon, lat], accuracy), me] });
  map?.jumpTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 17) });
}

/** Asks again for what is around; on a poor network a failure is retried every few seconds. */
function refreshAround() {
  if (!position) return;
  lookAround().then(
    (online) => { aroundIsStale = !online; },
    () => { aroundIsStale = true; },
  );
}
setInterval(() => { if (aroundIsStale && navigator.onLine) refreshAround(); }, 5_000);

/** The parcel under the collector and the addresses already recorded around them; true
 * when the server answered (offline, only the map's own tiles can tell the parcel). */
async function lookAround() {
  if (!navigator.onLine) {
    const hit = map?.queryRenderedFeatures(map.project([position.lon, position.lat]), { layers: ['parcels-fill'] })[0];
    $('parcel').textContent = hit?.properties.sheet ? `${hit.properties.ward}/${hit.properties.sheet}/${hit.properties.number}` : '–';
    return false;
  }
  const { lon, lat } = position;
  const [{ json: place }, { json: near }] = await Promise.all([
    api(`/v1/lookup?lon=${lon}&lat=${lat}`),
    api(`/v1/addresses/nearby?lon=${lon}&lat=${lat}&radius_m=${NEARBY_RADIUS_M}`),
  ]);
  lastLookup = place;
  const p = place.parcel;
  $('parcel').textContent = p ? `${p.ward_code}/${p.sheet}/${p.number} · ${place.vpostcode}` : `– · ${place.vpostcode ?? ''}`;
  $('nearby').innerHTML = near.addresses.length
    ? near.addresses.map(({ address: a, distance_m }) =>
      `<li>${escapeHtml([a.house_number, a.street, a.hamlet].filter(Boolean).join(', '))} – ${distance_m} m <code>${escapeHtml(a.vpostcode)}</code></li>`).join('')
    : `<li>${escapeHtml(t('field.nearby.none'))}</li>`;
  return true;
}

// ---- capture and outbox ---------------------------------------------------------------
function deviceId() {
  let id = localStorage.getItem('diaba.device');
  if (!id) localStorage.setItem('diaba.device', (id = `web-${Math.random().toString(36).slice(2, 10)}`));
  return id;
}

$('capture').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = $('capture-error');
  if (!position) {
    error.textContent = t('field.need_position');
    error.hidden = false;
    return;
  }
  error.hidden = true;
  const value = (id) => $(id).value.trim() || null;
  await enqueue({
    lat: position.lat,
    lon: position.lon,
    accuracy_m: position.accuracy,
    house_number: value('house_number') ?? '',
    street: value('street'),
    hamlet: value('hamlet'),
    head_name: value('head_name'),
    device_id: deviceId(),
    captured_at: new Date().toISOString(),
  });
  for (const id of ['house_number', 'head_name']) $(id).value = '';
  await renderQueue();
  sync();
});

async function renderQueue() {
  const list = (await items()).reverse();
  $('queue').innerHTML = list
    .map((item) => {
      const b = item.body;
      const text = [b.house_number, b.street, b.hamlet].filter(Boolean).join(', ');
      const code = item.vpostcode ? ` <code>${escapeHtml(item.vpostcode)}</code>` : '';
      const reason = item.reason ? `<span class="reason">${escapeHtml(item.reason)}</span>` : '';
      const warnings = (item.warnings ?? []).map((w) => `<span class="reason">${escapeHtml(w)}</span>`).join('');
      return `<li data-key="${escapeHtml(item.key)}" data-state="${item.state}">${escapeHtml(text)}${code} ` +
        `<span class="state state-${item.state}">${escapeHtml(t(`state.${item.state}`))}</span>${reason}${warnings}</li>`;
    })
    .join('');
}

let syncing = false;
// A flaky network (or the first moments after 'online') fails requests: try again after
// 2 s, then 4, 8 … up to 30 s, rather than waiting for the 30 s timer.
const RETRY_FIRST_MS = 2_000;
let retryDelay = RETRY_FIRST_MS;
let retryTimer = null;

function retrySoon() {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(sync, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 30_000);
}

/** Sends every queued (or sent but unanswered) capture; each answer settles its item. */
async function sync() {
  if (syncing || !session || !navigator.onLine) return;
  syncing = true;
  try {
    const waiting = (await items()).filter((i) => i.state === 'queued' || i.state === 'sent');
    for (let start = 0; start < waiting.length; start += BATCH) {
      const chunk = waiting.slice(start, start + BATCH);
      for (const item of chunk) await update(Object.assign(item, { state: 'sent' }));
      await renderQueue();
      let answer;
      try {
        answer = await api('/v1/addresses/submissions/batch', {
          token: session.token,
          method: 'POST',
          body: { submissions: chunk.map((i) => ({ ...i.body, idempotency_key: i.key })) },
        });
      } catch (error) {
        // No answer (network, server down, token revoked): everything stays to be resent.
        for (const item of chunk) await update(Object.assign(item, { state: 'queued' }));
        if (error.status === 401) $('signin-error').hidden = false;
        else retrySoon();
        break;
      }
      retryDelay = RETRY_FIRST_MS;
      for (const { index, status, body } of answer.json.results) {
        const item = chunk[index];
        if (status === 200 || status === 201) {
          Object.assign(item, { state: 'accepted', vpostcode: body.address.vpostcode, addressId: body.address.id, reason: null, warnings: body.warnings.map((w) => w.detail) });
        } else if (status >= 500) {
          item.state = 'queued';
        } else {
          Object.assign(item, { state: 'rejected', reason: body.detail || body.title });
        }
        await update(item);
      }
    }
  } finally {
    syncing = false;
    await renderQueue();
  }
}

$('sync').addEventListener('click', () => sync());

$('pack').addEventListener('click', async () => {
  const ward = wards()[0];
  if (!ward) return;
  $('pack-state').textContent = '…';
  try {
    const bytes = await downloadPack(ward);
    $('pack-state').textContent = `${t('field.pack.ready')} (${(bytes / 1e6).toFixed(1)} MB)`;
  } catch (error) {
    $('pack-state').textContent = error.message;
  }
});

// ---- start ----------------------------------------------------------------------------
// A phone is personal: the session stays until signed out (or the token is revoked).
let session = tokenSession({
  storage: localStorage,
  key: 'diaba.session',
  roles: ['collector', 'admin'],
  onSignedIn: (signedIn) => { session = signedIn; start(); },
});

function start() {
  $('signin').hidden = true;
  $('work').hidden = false;
  $('who').textContent = `${session.me.name} (${session.me.role}${session.me.wards.length ? ` · ${session.me.wards.join(', ')}` : ''})`;
  startMap().catch(() => {});
  watchPosition();
  renderQueue().then(sync);
  setInterval(sync, 30_000);
}

// The street as it is typed: names of recorded households near the fix (autocomplete), so
// a street is written the way its neighbours have it. Offline, the box is a plain input.
let streetTimer = null;
$('street').addEventListener('input', () => {
  clearTimeout(streetTimer);
  const text = $('street').value.trim();
  if (text.length < 2 || !navigator.onLine) return;
  streetTimer = setTimeout(async () => {
    const query = new URLSearchParams({ q: text, autocomplete: 'true', limit: '20' });
    if (position) query.set('focus', `${position.lat.toFixed(6)},${position.lon.toFixed(6)}`);
    try {
      const { json } = await api(`/v1/addresses?${query}`);
      const streets = [...new Set(json.results.map((a) => a.street).filter(Boolean))].slice(0, 8);
      $('streets').innerHTML = streets.map((name) => `<option value="${escapeHtml(name)}"></option>`).join('');
    } catch { /* suggestions are a convenience */ }
  }, 200);
});

languageSwitch($('lang'), () => { showNetwork(); renderQueue(); if (position) showPosition(); });
window.diaba = { get map() { return map; } }; // for the browser tests and the curious
showNetwork();
if (session) start();
else $('signin').hidden = false;
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {});
