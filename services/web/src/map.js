// The map page: the service's own tiles, a click panel, search and a date control.
import * as maplibregl from 'maplibre-gl';
import { t, languageSwitch, currentLanguage } from './lib/i18n.js';
import { api, ApiProblem, VPOSTCODE, PARCEL_KEY, NATIONAL_ID, escapeHtml, bounds } from './lib/api.js';
import { setupPrint } from './lib/print.js';
import { liveToggle } from './lib/live.js';

const CAN_THO = { center: [105.76, 10.03], zoom: 11 };
const REFORM_DAY = '2025-07-01'; // wards merged, districts abolished
const FLOOD_COLOURS = ['#a6d8f0', '#fff3a0', '#ffa040', '#e8312f', '#8e3aa8'];
const LAND_USES = [['ODT', '#f2b8a0'], ['LUC', '#f7f08a'], ['CLN', '#b8dc8c'], ['NTS', '#9fd3e6'], ['BHK', '#e6e6a0'], ['DGT', '#fbfaf7'], ['SON', '#b3d4e6'], ['other', '#dddddd']];

const map = new maplibregl.Map({
  container: 'map',
  style: '/tiles/style.json',
  hash: true, // the view lives in the address bar: shareable, and survives a reload
  ...CAN_THO,
  maxZoom: 21,
  attributionControl: { customAttribution: 'diaba · ranh giới: GSO, gis.chinhphu.vn' },
});
map.addControl(new maplibregl.NavigationControl(), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }));
const marker = new maplibregl.Marker({ color: '#c0392b' });
let lastPanel = null; // redrawn when the language changes

// Pre-2025 districts (and the province outline) come from OGC API Features as GeoJSON.
map.on('load', () => {
  map.addSource('former-units', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({
    id: 'former-districts', type: 'line', source: 'former-units',
    paint: { 'line-color': '#2a6f3a', 'line-width': 2.5, 'line-dasharray': [4, 2] },
  });
  map.addSource('selected', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'selected-line', type: 'line', source: 'selected', paint: { 'line-color': '#c0392b', 'line-width': 3 } });
});

function today() {
  return new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10); // Việt Nam time
}

const dateInput = document.getElementById('date');
dateInput.value = today();
dateInput.max = today();
dateInput.addEventListener('change', showEra);

/** The tiles of the register as it stood at the end of `date` (today's when it is today). */
function tilesOn(date) {
  const at = date && date < today() ? `?at=${date}` : '';
  return [`${location.origin}/tiles/all/{z}/{x}/{y}.mvt${at}`];
}

async function showEra() {
  const date = dateInput.value || today();
  map.getSource('diaba')?.setTiles(tilesOn(date));
  const former = date < REFORM_DAY;
  document.getElementById('era').hidden = !former;
  if (map.getLayer('wards-line')) map.setLayoutProperty('wards-line', 'visibility', former ? 'none' : 'visible');
  let features = [];
  if (former) {
    const { json } = await api(`/ogc/collections/wards/items?datetime=${date}&limit=1000`);
    features = json.features.filter((f) => f.properties.level === 'district');
  }
  map.getSource('former-units')?.setData({ type: 'FeatureCollection', features });
}

function atParam() {
  return dateInput.value && dateInput.value !== today() ? `&at=${dateInput.value}` : '';
}

// ---- before / after -------------------------------------------------------------------
// A second map beside the first, on an earlier day, moving with it: registrars review what
// a change did. The register of each day is drawn by the server (tiles with ?at=).
const compareButton = document.getElementById('compare');
const compareDate = document.getElementById('compare-date');
let before = null;

function dayBefore(date) {
  return new Date(Date.parse(date) - 86400e3).toISOString().slice(0, 10);
}

/** Moves `to` where `from` is, unless `from` is itself being moved to follow `to`. */
function mirror(from, to) {
  if (!to || from.diabaSyncing) return;
  to.diabaSyncing = true;
  to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
  to.diabaSyncing = false;
}
map.on('move', () => mirror(map, before));

function toggleCompare() {
  const on = !before;
  compareButton.setAttribute('aria-pressed', String(on));
  document.getElementById('map-before').hidden = !on;
  if (on) {
    compareDate.max = today();
    compareDate.value ||= dayBefore(dateInput.value || today());
    before = new maplibregl.Map({
      container: 'map-before', style: '/tiles/style.json', center: map.getCenter(), zoom: map.getZoom(),
      maxZoom: 21, attributionControl: false,
    });
    before.on('load', () => before.getSource('diaba')?.setTiles(tilesOn(compareDate.value)));
    before.on('move', () => mirror(before, map));
    window.diaba.before = before;
  } else {
    before.remove();
    before = null;
    delete window.diaba.before;
  }
  map.resize();
}

compareButton.addEventListener('click', toggleCompare);
compareDate.addEventListener('change', () => before?.getSource('diaba')?.setTiles(tilesOn(compareDate.value)));

// ---- legend ---------------------------------------------------------------------------
function drawLegend() {
  const swatch = (colour, label, round = false) =>
    `<li><span class="swatch${round ? ' round' : ''}" data-colour="${colour}"></span>${escapeHtml(label)}</li>`;
  const legend = document.getElementById('legend');
  legend.innerHTML =
    `<h2>${t('legend.flood')}</h2><ul>${FLOOD_COLOURS.map((c, i) => swatch(c, t(`legend.flood.${i + 1}`))).join('')}</ul>` +
    `<h2>${t('legend.landuse')}</h2><ul>${LAND_USES.map(([code, c]) => swatch(c, t(`legend.landuse.${code}`))).join('')}</ul>` +
    `<ul>${swatch('#1f5fbf', t('legend.household'), true)}</ul>`;
  // Colours set through the CSSOM: the page's CSP allows no inline style attributes.
  for (const el of legend.querySelectorAll('.swatch')) el.style.background = el.dataset.colour;
}

// ---- the panel ------------------------------------------------------------------------
const panel = document.getElementById('panel');
const panelBody = document.getElementById('panel-body');
document.getElementById('panel-close').addEventListener('click', () => {
  panel.hidden = true;
  lastPanel = null;
  map.getSource('selected')?.setData({ type: 'FeatureCollection', features: [] });
});

const row = (label, value) => `<tr><th>${escapeHtml(t(label))}</th><td>${value}</td></tr>`;
const isSynthetic = (source) => typeof source === 'string' && source.startsWith('synthetic');

function floodHtml(flood) {
  if (!flood || !flood.zones?.length) return escapeHtml(t('panel.flood.none'));
  const zones = flood.zones.map((z) => `<li class="risk-${z.risk_level}">${escapeHtml(z.name)}</li>`).join('');
  return `<strong>${escapeHtml(t('panel.flood.level'))}: ${flood.max_risk_level}</strong><ul>${zones}</ul>`;
}

function parcelHtml(parcel, place) {
  const key = `${parcel.ward_code}/${parcel.sheet}/${parcel.number}`;
  const uses = parcel.land_uses.map((u) => `${escapeHtml(u.code)} (${u.area_m2.toFixed(1)} m²)`).join(', ');
  return `<h2>${escapeHtml(t('panel.parcel'))} <span class="parcel-key">${escapeHtml(key)}</span></h2>` +
    (isSynthetic(parcel.source) ? `<p class="badge">${escapeHtml(t('panel.synthetic'))}</p>` : '') +
    `<table>` +
    row('panel.key', `<span data-field="key">${escapeHtml(key)}</span>`) +
    row('panel.national_id', `<code data-field="national_id">${escapeHtml(parcel.national_id)}</code>`) +
    row('panel.area', `${parcel.legal_area_m2.toLocaleString(currentLanguage(), { maximumFractionDigits: 1 })} m²`) +
    row('panel.land_use', uses) +
    row('panel.address', escapeHtml(parcel.address_text ?? '–')) +
    row('panel.version', String(parcel.version)) +
    row('panel.since', escapeHtml(parcel.valid_from.slice(0, 10))) +
    row('panel.flood', floodHtml(place?.flood)) +
    `</table><p><a href="/v1/parcels/${parcel.id}/history" id="history-link" data-id="${parcel.id}">${escapeHtml(t('panel.history'))}</a></p>` +
    `<ol id="history" class="history"></ol>`;
}

function placeHtml(place) {
  const ward = place.ward ? `${escapeHtml(place.ward.name)} (${place.ward.code})` : '–';
  const candidates = place.ward_candidates?.map((w) => escapeHtml(w.name)).join(' / ');
  return `<h2>${escapeHtml(t('panel.place'))}</h2><p>${escapeHtml(t('panel.no_parcel'))}</p><table>` +
    row('panel.ward', place.ward ? ward : candidates || '–') +
    (place.district ? row('panel.district', escapeHtml(place.district.name)) : '') +
    row('panel.vpostcode', `<code>${escapeHtml(place.vpostcode ?? '–')}</code>`) +
    row('panel.flood', floodHtml(place.flood)) + '</table>';
}

async function openPanelAt(lngLat) {
  const { json: place } = await api(`/v1/lookup?lon=${lngLat.lng}&lat=${lngLat.lat}${atParam()}`);
  if (place.parcel) {
    const { json: parcel } = await api(`/v1/parcels/${place.parcel.id}?${atParam().slice(1)}`);
    showPanel(() => parcelHtml(parcel, place));
    map.getSource('selected')?.setData({ type: 'Feature', geometry: parcel.geometry, properties: {} });
  } else {
    showPanel(() => placeHtml(place));
    map.getSource('selected')?.setData({ type: 'FeatureCollection', features: [] });
  }
}

function showPanel(render) {
  lastPanel = render;
  panelBody.innerHTML = render();
  panel.hidden = false;
}

panelBody.addEventListener('click', async (event) => {
  const link = event.target.closest('#history-link');
  if (!link) return;
  event.preventDefault();
  const { json } = await api(`/v1/parcels/${link.dataset.id}/history`);
  document.getElementById('history').innerHTML = json.versions
    .map((v) => `<li>v${v.version}: ${escapeHtml(v.valid_from.slice(0, 10))}${v.valid_to ? ` → ${escapeHtml(v.valid_to.slice(0, 10))}` : ''} – ${escapeHtml(v.reason ?? '')}</li>`)
    .join('');
});

map.on('click', (event) => openPanelAt(event.lngLat).catch(showError));

// ---- search ---------------------------------------------------------------------------
const results = document.getElementById('results');

function showError(error) {
  results.innerHTML = `<li class="error">${escapeHtml(error instanceof ApiProblem ? error.message : t('search.none'))}</li>`;
  results.hidden = false;
}

async function flyToParcel(parcel) {
  map.fitBounds(bounds(parcel.geometry), { padding: 80, maxZoom: 19, duration: 800 });
  const [[w, s], [e, n]] = bounds(parcel.geometry);
  marker.remove();
  await openPanelAt({ lng: (w + e) / 2, lat: (s + n) / 2 }).catch(() => {});
  map.getSource('selected')?.setData({ type: 'Feature', geometry: parcel.geometry, properties: {} });
}

function flyToPoint(lon, lat) {
  marker.setLngLat([lon, lat]).addTo(map);
  map.flyTo({ center: [lon, lat], zoom: 19, duration: 800 });
}

async function search(text) {
  results.hidden = true;
  let match;
  if ((match = text.match(VPOSTCODE))) {
    const code = `${match[1]} ${match[2].toUpperCase()}`;
    const { json } = await api(`/v1/vpostcode/${encodeURIComponent(code)}`);
    flyToPoint(json.centre.lon, json.centre.lat);
  } else if ((match = text.match(PARCEL_KEY))) {
    const { json } = await api(`/v1/parcels?ward=${match[1]}&sheet=${match[2]}&number=${match[3]}${atParam()}`);
    await flyToParcel(json);
  } else if ((match = text.match(NATIONAL_ID))) {
    const { json } = await api(`/v1/parcels?national_id=${match[1].toLowerCase()}${atParam()}`);
    await flyToParcel(json);
  } else {
    const found = await addresses(text, false);
    if (found.length) flyToPoint(found[0].lon, found[0].lat);
  }
}

/** Households matching `text`, listed under the box, nearest the map's centre favoured;
 * `typing`: the last word is still being typed (autocomplete). */
async function addresses(text, typing) {
  const { lng, lat } = map.getCenter();
  const query = new URLSearchParams({ q: text, limit: '8', focus: `${lat.toFixed(5)},${lng.toFixed(5)}` });
  if (typing) query.set('autocomplete', 'true');
  const { json } = await api(`/v1/addresses?${query}`);
  if (!json.results.length) {
    if (!typing) showError(null);
    return [];
  }
  results.innerHTML = json.results
    .map((a, i) => `<li><button type="button" data-i="${i}">${escapeHtml(addressLine(a))} <code>${escapeHtml(a.vpostcode)}</code></button></li>`)
    .join('');
  results.hidden = false;
  results.onclick = (event) => {
    const i = event.target.closest('button')?.dataset.i;
    if (i !== undefined) flyToPoint(json.results[i].lon, json.results[i].lat);
  };
  return json.results;
}

// As you type: suggestions after a short pause, never for codes and keys (those resolve on Enter).
let typingTimer = null;
document.getElementById('search-input').addEventListener('input', (event) => {
  clearTimeout(typingTimer);
  const text = event.target.value.trim();
  if (text.length < 2 || VPOSTCODE.test(text) || PARCEL_KEY.test(text) || NATIONAL_ID.test(text)) return;
  typingTimer = setTimeout(() => addresses(text, true).catch(() => {}), 150);
});

function addressLine(a) {
  return [a.house_number, a.street, a.hamlet, a.ward_name].filter(Boolean).join(', ');
}

document.getElementById('search').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = document.getElementById('search-input').value.trim();
  if (text) search(text).catch(showError);
});

// ---- start ----------------------------------------------------------------------------
languageSwitch(document.getElementById('lang'), () => {
  drawLegend();
  if (lastPanel && !panel.hidden) panelBody.innerHTML = lastPanel();
});
drawLegend();
api('/health')
  .then(({ json }) => { document.getElementById('synthetic').hidden = !json.demo_profile; })
  .catch(() => {});
map.on('load', () => showEra().catch(showError));
window.diaba = { map }; // for the browser tests and the curious
setupPrint(map, { asOfDate: () => document.getElementById('date').value });
liveToggle(map, document.getElementById('live')); // "Flooding now": zones and gauges, kept live
