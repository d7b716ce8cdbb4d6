// The operations centre's wall: the zones flooding now and on watch on the map, the gauges
// with their last 24 h, households and parcels exposed per ward, the alert log and the
// counts, all kept current by the server's alerts (Server-Sent Events) without a reload.
// What it shares with the map page's "Flooding now" toggle lives in lib/live.js.
import * as maplibregl from 'maplibre-gl';
import { t, languageSwitch } from './lib/i18n.js';
import { api, escapeHtml } from './lib/api.js';
import {
  liveFeed, liveMapLayer, LiveLegend, sparkline, thresholdsOf, gaugeState,
  formatTime, formatNumber, formatReading, stateName,
} from './lib/live.js';

const $ = (id) => document.getElementById(id);
const CITY = [[105.583, 9.939], [105.845, 10.118]]; // the service area (tiles' bounds)
const STATES = ['flooded', 'watch', 'dry'];
const MAX_ALERTS = 50;

const map = new maplibregl.Map({
  container: 'map',
  style: '/tiles/style.json',
  hash: true, // a wall can be pointed at one district by its address
  bounds: CITY,
  fitBoundsOptions: { padding: 16 },
  minZoom: 10, // the flood zones are in the tiles from z10
  maxZoom: 19,
  attributionControl: { customAttribution: 'diaba · ranh giới: GSO, gis.chinhphu.vn' },
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }));
const legend = new LiveLegend();
map.addControl(legend, 'top-left');
// The planning zones stay as a faint backdrop; what floods now is the live layer above them.
map.on('load', () => { if (map.getLayer('flood')) map.setPaintProperty('flood', 'fill-opacity', 0.15); });
const layer = liveMapLayer(map);

const view = { live: null, gauges: [], status: 'connecting', updated: null };
window.diaba = { map, state: null }; // for the browser tests and the curious

// ---- ward names -------------------------------------------------------------------------
// Exposure comes per ward code; the names are in the tiles already drawn (ward_labels), and
// otherwise asked of OGC API Features one ward at a time, once.
const wardNames = new Map();
const askedWards = new Set();
let mapSettled = false;

function harvestWardNames() {
  let found = false;
  for (const feature of map.querySourceFeatures('diaba', { sourceLayer: 'ward_labels' })) {
    const { code, name } = feature.properties;
    if (code && name && !wardNames.has(code)) {
      wardNames.set(code, name);
      found = true;
    }
  }
  return found;
}

function askWardNames(codes) {
  if (!mapSettled) return; // the tiles may still name them
  for (const code of codes) {
    if (wardNames.has(code) || askedWards.has(code) || !/^\d{5}$/.test(code)) continue;
    askedWards.add(code);
    api(`/ogc/collections/wards/items?code=${code}&limit=1`)
      .then(({ json }) => {
        const name = json.features?.[0]?.properties?.name;
        if (name) { wardNames.set(code, name); renderExposure(); }
      })
      .catch(() => {}); // the code stays: still a true answer
  }
}

map.on('idle', () => {
  mapSettled = true;
  if (harvestWardNames()) renderExposure();
  else askWardNames(exposureByWard(view.live).rows.map((r) => r.ward));
});

// ---- exposure ---------------------------------------------------------------------------

const zero = () => ({ households: 0, parcels: 0 });

/** Households and parcels of the zones flooded and on watch, per ward and in total. */
function exposureByWard(live) {
  const wards = new Map();
  const totals = { flooded: zero(), watch: zero() };
  for (const state of ['flooded', 'watch']) {
    for (const zone of live?.zones?.[state] ?? []) {
      if (!zone.exposure) continue;
      totals[state].households += zone.exposure.households;
      totals[state].parcels += zone.exposure.parcels;
      for (const w of zone.exposure.by_ward ?? []) {
        if (!wards.has(w.ward)) wards.set(w.ward, { ward: w.ward, flooded: zero(), watch: zero() });
        wards.get(w.ward)[state].households += w.households;
        wards.get(w.ward)[state].parcels += w.parcels;
      }
    }
  }
  const rows = [...wards.values()].sort((a, b) =>
    b.flooded.households - a.flooded.households || b.flooded.parcels - a.flooded.parcels
    || b.watch.households - a.watch.households || a.ward.localeCompare(b.ward));
  return { rows, totals };
}

const cell = (value, key) => `<td class="num" data-key="${key}" data-value="${value}">${formatNumber(value)}</td>`;

function renderExposure() {
  const { rows, totals } = exposureByWard(view.live);
  askWardNames(rows.map((r) => r.ward));
  const head = `<thead><tr><th rowspan="2" scope="col">${escapeHtml(t('ioc.ward'))}</th>
      <th colspan="2" scope="colgroup" class="flooded">${escapeHtml(t('live.state.flooded'))}</th>
      <th colspan="2" scope="colgroup" class="watch">${escapeHtml(t('live.state.watch'))}</th></tr>
    <tr>${['households', 'parcels', 'households', 'parcels'].map((k) => `<th scope="col" class="num">${escapeHtml(t(`ioc.${k}`))}</th>`).join('')}</tr></thead>`;
  const body = rows.length
    ? rows.map((r) => `<tr data-ward="${escapeHtml(r.ward)}"><th scope="row">${escapeHtml(wardNames.get(r.ward) ?? r.ward)}</th>
        ${cell(r.flooded.households, 'households-flooded')}${cell(r.flooded.parcels, 'parcels-flooded')}
        ${cell(r.watch.households, 'households-watch')}${cell(r.watch.parcels, 'parcels-watch')}</tr>`).join('')
    : `<tr><td colspan="5" class="empty">${escapeHtml(t('ioc.exposure.none'))}</td></tr>`;
  const foot = `<tfoot><tr><th scope="row">${escapeHtml(t('ioc.total'))}</th>
      ${cell(totals.flooded.households, 'households-flooded')}${cell(totals.flooded.parcels, 'parcels-flooded')}
      ${cell(totals.watch.households, 'households-watch')}${cell(totals.watch.parcels, 'parcels-watch')}</tr></tfoot>`;
  $('exposure').innerHTML = `${head}<tbody>${body}</tbody>${foot}`;
}

// ---- counts, gauges, alerts ---------------------------------------------------------------

function renderCounts() {
  for (const state of STATES) {
    const count = view.live?.zones?.[state]?.length;
    $(`count-${state}`).textContent = count === undefined ? '–' : formatNumber(count);
    $(`count-${state}`).dataset.value = count ?? '';
    $(`count-${state}`).parentElement.classList.toggle('zero', !count); // alarm colours only when it counts
  }
}

const unitOf = (datastream) => view.gauges.find((g) => g.id === datastream)?.unit ?? '';

function renderGauges() {
  const list = $('gauges');
  if (!view.gauges.length) {
    const empty = document.createElement('li');
    empty.className = 'empty';
    empty.textContent = t('ioc.gauges.none');
    list.replaceChildren(empty);
    return;
  }
  const order = { flooded: 0, normal: 1, stale: 2, none: 3 };
  const gauges = [...view.gauges].sort((a, b) =>
    order[gaugeState(a, view.live)] - order[gaugeState(b, view.live)] || (a.thing?.name ?? a.name).localeCompare(b.thing?.name ?? b.name));
  list.replaceChildren(...gauges.map((gauge) => {
    const state = gaugeState(gauge, view.live);
    const thresholds = thresholdsOf(view.live, gauge.id);
    const item = document.createElement('li');
    item.className = `gauge ${state}`;
    item.dataset.datastream = gauge.id;
    item.dataset.state = state;
    const name = document.createElement('p');
    name.className = 'gauge-name';
    name.textContent = gauge.thing?.name ?? gauge.name;
    const detail = document.createElement('small');
    detail.textContent = gauge.name;
    name.append(document.createElement('br'), detail);
    const reading = document.createElement('p');
    reading.className = 'gauge-reading';
    const value = document.createElement('strong');
    value.className = 'gauge-value';
    value.textContent = gauge.latest ? formatReading(gauge.latest.value, gauge.unit) : '–';
    if (gauge.latest) value.dataset.value = gauge.latest.value;
    const time = document.createElement('time');
    if (gauge.latest) time.dateTime = new Date(gauge.latest.time).toISOString();
    time.textContent = gauge.latest ? formatTime(gauge.latest.time, { date: state === 'stale' }) : '';
    reading.append(value, ' ', time);
    if (state === 'stale') reading.append(` (${t('ioc.gauge.stale')})`);
    if (thresholds.length) {
      const rule = document.createElement('small');
      rule.textContent = `${t('ioc.threshold')} ${thresholds.map((v) => formatReading(v, gauge.unit)).join(' / ')}`;
      reading.append(document.createElement('br'), rule);
    }
    item.append(name, sparkline(gauge, thresholds), reading);
    return item;
  }));
}

function renderAlerts() {
  const alerts = (view.live?.alerts ?? []).slice(0, MAX_ALERTS);
  $('alerts').innerHTML = alerts.length
    ? alerts.map((a) => {
      const rate = a.reading?.rate_m_per_h;
      const unit = unitOf(a.reading?.datastream);
      return `<li class="alert to-${escapeHtml(a.to)}" data-zone="${a.zone.id}" data-to="${escapeHtml(a.to)}">
        <time datetime="${escapeHtml(a.at)}">${escapeHtml(formatTime(a.at, { seconds: true }))}</time>
        <strong class="zone">${escapeHtml(a.zone.name)}</strong>
        <span class="transition">${escapeHtml(stateName(a.from))} → ${escapeHtml(stateName(a.to))}</span>
        <span class="reading">${escapeHtml(formatReading(a.reading?.result, unit))}${rate ? ` (${rate > 0 ? '+' : ''}${escapeHtml(formatNumber(rate, 2))} ${escapeHtml(unit)}/h)` : ''}
          · ${escapeHtml(t('ioc.threshold'))} ${escapeHtml(formatReading(a.threshold, unit))}</span>
        <span class="exposed">${escapeHtml(formatNumber(a.exposure?.households ?? 0))} ${escapeHtml(t('ioc.households').toLowerCase())}
          · ${escapeHtml(formatNumber(a.exposure?.parcels ?? 0))} ${escapeHtml(t('ioc.parcels').toLowerCase())}</span></li>`;
    }).join('')
    : `<li class="empty">${escapeHtml(t('ioc.alerts.none'))}</li>`;
}

function renderStatus() {
  const el = $('connection');
  el.className = `live-status ${view.status}`;
  el.dataset.status = view.status;
  el.textContent = t(`live.status.${view.status}`);
  $('updated').textContent = view.updated ? formatTime(view.updated, { seconds: true }) : '–';
  if (view.updated) $('updated').dateTime = new Date(view.updated).toISOString();
}

function renderAll() {
  renderCounts();
  renderGauges();
  renderExposure();
  renderAlerts();
  renderStatus();
}

// ---- start ------------------------------------------------------------------------------

const feed = liveFeed({
  onLive(live) {
    view.live = live;
    view.updated = Date.now();
    window.diaba.state = live;
    layer.setLive(live);
    legend.update({ updated: view.updated });
    renderAll();
  },
  onGauges(gauges) {
    view.gauges = gauges;
    layer.setGauges(gauges);
    renderGauges();
    renderAlerts(); // units
  },
  onStatus(status, error) {
    if (error) console.warn('diaba live:', error.message);
    view.status = status;
    legend.update({ status });
    renderStatus();
  },
});

languageSwitch($('lang'), renderAll);
renderAll();
api('/health')
  .then(({ json }) => { $('synthetic').hidden = !json.demo_profile; })
  .catch(() => {});
feed.start();
