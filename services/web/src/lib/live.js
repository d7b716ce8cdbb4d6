// Flooding now, shared by the operations centre's wall (/ioc) and the map page's
// "Flooding now" toggle: the gauges from the SensorThings API with their last 24 h, the
// zones' states from /v1/flood/live, kept fresh by the server's alerts (Server-Sent Events)
// and a timer, and a MapLibre layer that draws both over the service's own tiles.
//
// The zones are not fetched as geometry: the style's `diaba` source already holds them
// (source-layer `flood`, feature id = zone id), so the live layer is the same polygons
// filtered on the ids /v1/flood/live names flooded or on watch. Only the gauges are a
// GeoJSON source, built from their Things' Locations and their latest observation.
import { api } from './api.js';
import { t, currentLanguage } from './i18n.js';

const STA = '/sta/v1.1';
const HOUR_MS = 3600e3;
/** A reading older than this is shown as stale (a gauge that stopped reporting). */
export const STALE_MS = 2 * HOUR_MS;
/** The layers the live layer adds (and removes). */
export const LIVE_LAYERS = {
  watchFill: 'live-watch-fill',
  watchLine: 'live-watch-line',
  floodedFill: 'live-flooded-fill',
  floodedLine: 'live-flooded-line',
  gauges: 'live-gauges',
  gaugeLabels: 'live-gauge-labels',
};
export const LIVE_COLOURS = { flooded: '#8b0000', watch: '#f07c00', gauge: '#1f5fbf', stale: '#888888' };
const GAUGE_SOURCE = 'live-gauges';
const HATCH = 'live-hatch';

// ---- formatting --------------------------------------------------------------------------

const locale = () => (currentLanguage() === 'en' ? 'en-GB' : 'vi-VN');

/** A time of day in Cần Thơ (the wall may hang anywhere; the city's clock is what counts). */
export function formatTime(when, { seconds = false, date = false } = {}) {
  if (when === null || when === undefined) return '–';
  const options = { timeZone: 'Asia/Ho_Chi_Minh', hour: '2-digit', minute: '2-digit', hour12: false };
  if (seconds) options.second = '2-digit';
  if (date) Object.assign(options, { day: '2-digit', month: '2-digit' });
  return new Date(when).toLocaleString(locale(), options);
}

export function formatNumber(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  return Number(value).toLocaleString(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "2,05 m" (vi) or "2.05 m" (en). */
export function formatReading(value, unit) {
  return `${formatNumber(value, 2)}${unit ? ` ${unit}` : ''}`;
}

/** A zone state (flooded, watch, dry) in the page's language. */
export const stateName = (state) => {
  const key = `live.state.${state}`;
  const text = t(key);
  return text === key ? state : text;
};

// ---- the gauges (SensorThings API) ---------------------------------------------------------

/** SensorThings' links are absolute (built from the Host header); ask our own origin. */
function sameOrigin(link) {
  const url = new URL(link, location.href);
  return `${url.pathname}${url.search}`;
}

/** Every entity of a collection, following `@iot.nextLink` (at most `pages` pages). */
async function every(path, pages = 20) {
  const out = [];
  let next = path;
  for (let page = 0; next && page < pages; page++) {
    const { json } = await api(next);
    out.push(...json.value);
    next = json['@iot.nextLink'] ? sameOrigin(json['@iot.nextLink']) : null;
  }
  return out;
}

/** 2026-11-29T00:00:00Z: whole seconds, as SensorThings filters are usually written. */
const isoSeconds = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const point = (location) => {
  const geometry = location?.type === 'Feature' ? location.geometry : location;
  return geometry?.type === 'Point' && Array.isArray(geometry.coordinates) ? geometry.coordinates.slice(0, 2) : null;
};

/** Where each datastream's Thing stands: it seldom moves, so it is asked once per page. */
const places = new Map();
function placeOf(datastream) {
  if (!places.has(datastream)) {
    const found = (async () => {
      const { json: thing } = await api(`${STA}/Datastreams(${datastream})/Thing`);
      const locations = await every(`${STA}/Things(${thing['@iot.id']})/Locations`, 1);
      const located = locations.map((l) => point(l.location)).find(Boolean) ?? null;
      return { thing: { id: thing['@iot.id'], name: thing.name }, position: located };
    })();
    found.catch(() => places.delete(datastream)); // asked again next time
    places.set(datastream, found);
  }
  return places.get(datastream);
}

/** Late readings (a gateway catching up) are picked up if no older than this. */
const OVERLAP_MS = 30 * 60e3;
/** Each gauge's window of readings, kept between refreshes: only what is new is asked. */
const histories = new Map();

/**
 * The readings of `datastream` since `since` (ms), oldest first, as [ms, value]: the first
 * time all of them, then only those from the latest seen on (less OVERLAP_MS, de-duplicated
 * by id), so a gauge reading every few seconds costs a few rows a minute, not a day's.
 */
async function historyOf(datastream, since) {
  const known = histories.get(datastream);
  const from = known?.latest ? Math.max(since, known.latest - OVERLAP_MS) : since;
  const filter = encodeURIComponent(`phenomenonTime ge ${isoSeconds(from)}`);
  const fresh = await every(`${STA}/Datastreams(${datastream})/Observations?$top=1000&$orderby=phenomenonTime%20asc&$filter=${filter}`, 40);
  const byId = new Map((known?.points ?? []).filter(([time]) => time >= since).map((p) => [p[2], p]));
  for (const o of fresh) {
    if (typeof o.result === 'number') byId.set(o['@iot.id'], [Date.parse(o.phenomenonTime), o.result, o['@iot.id']]);
  }
  const points = [...byId.values()].sort((a, b) => a[0] - b[0] || a[2] - b[2]);
  histories.set(datastream, { points, latest: points.at(-1)?.[0] ?? known?.latest ?? null });
  return points.map(([time, value]) => [time, value]);
}

/** A datastream's latest reading, however old, as { time, value }, or null. */
async function latestOf(datastream) {
  const { json } = await api(`${STA}/Datastreams(${datastream})/Observations?$top=1&$orderby=phenomenonTime%20desc`);
  const last = json.value[0];
  return last && typeof last.result === 'number' ? { time: Date.parse(last.phenomenonTime), value: last.result } : null;
}

/**
 * Every datastream with its Thing's name and position, its latest reading (older than the
 * window if the gauge has gone quiet) and, with `series`, its observations of the last
 * `hours` (oldest first, as [ms, value]); without, only the latest is asked for.
 */
export async function loadGauges({ hours = 24, series = true, now = Date.now() } = {}) {
  const since = now - hours * HOUR_MS;
  const streams = await every(`${STA}/Datastreams?$top=200&$orderby=id%20asc`);
  return Promise.all(streams.map(async (stream) => {
    const id = stream['@iot.id'];
    const [place, points] = await Promise.all([placeOf(id), series ? historyOf(id, since) : []]);
    const last = points.at(-1);
    const latest = last && last[0] >= now - HOUR_MS ? { time: last[0], value: last[1] } : await latestOf(id);
    return {
      id,
      name: stream.name,
      unit: stream.unitOfMeasurement?.symbol ?? '',
      thing: place.thing,
      position: place.position,
      series: points,
      latest,
      from: since,
      to: now,
    };
  }));
}

/** The rules' thresholds on one datastream, lowest first. */
export function thresholdsOf(live, datastream) {
  return (live?.rules ?? []).filter((r) => r.datastream === datastream).map((r) => r.threshold).sort((a, b) => a - b);
}

/** flooded (at or over a rule's threshold), stale (quiet for STALE_MS), normal, or none. */
export function gaugeState(gauge, live, now = Date.now()) {
  if (!gauge.latest) return 'none';
  if (now - gauge.latest.time > STALE_MS) return 'stale';
  const lowest = thresholdsOf(live, gauge.id)[0];
  return lowest !== undefined && gauge.latest.value >= lowest ? 'flooded' : 'normal';
}

/** The gauges as GeoJSON points, labelled with their latest reading. */
export function gaugesGeoJSON(gauges, live) {
  return {
    type: 'FeatureCollection',
    features: gauges.filter((g) => g.position).map((g) => ({
      type: 'Feature',
      id: g.id,
      geometry: { type: 'Point', coordinates: g.position },
      properties: {
        datastream: g.id,
        name: g.thing?.name ?? g.name,
        value: g.latest?.value ?? null,
        state: gaugeState(g, live),
        label: g.latest ? formatReading(g.latest.value, g.unit) : '–',
      },
    })),
  };
}

// ---- sparklines ------------------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
const svgElement = (name, attributes, className) => {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  if (className) el.setAttribute('class', className);
  return el;
};

/** At most a lowest and a highest reading per pixel column (peaks kept), in time order. */
function thin(series, x, width) {
  if (series.length <= 4 * width) return series;
  const columns = new Map();
  for (const point of series) {
    const column = Math.floor(x(point[0]));
    const [low, high] = columns.get(column) ?? [point, point];
    columns.set(column, [point[1] < low[1] ? point : low, point[1] > high[1] ? point : high]);
  }
  return [...columns.values()].flatMap(([low, high]) => (low === high ? [low] : [low, high].sort((a, b) => a[0] - b[0])));
}

/**
 * A small SVG line of a gauge's window (drawn through the DOM, coloured by classes: the
 * page's CSP allows no inline styles), with the rules' thresholds as dashed lines.
 */
export function sparkline(gauge, thresholds = [], { width = 160, height = 40 } = {}) {
  const svg = svgElement('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', preserveAspectRatio: 'none' }, 'sparkline');
  const title = svgElement('title', {});
  title.textContent = `${gauge.thing?.name ?? gauge.name}: ${gauge.series.length} ${t('live.readings')}`;
  svg.append(title);
  const values = [...gauge.series.map(([, v]) => v), ...thresholds];
  if (!gauge.series.length) return svg;
  const pad = 3;
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high - low < 0.1) { low -= 0.05; high += 0.05; }
  const x = (time) => ((time - gauge.from) / (gauge.to - gauge.from)) * width;
  const y = (value) => height - pad - ((value - low) / (high - low)) * (height - 2 * pad);
  const r = (n) => Math.round(n * 10) / 10;
  for (const threshold of thresholds) {
    svg.append(svgElement('line', { x1: 0, x2: width, y1: r(y(threshold)), y2: r(y(threshold)) }, 'spark-threshold'));
  }
  const d = thin(gauge.series, x, width).map(([time, value], i) => `${i ? 'L' : 'M'}${r(x(time))} ${r(y(value))}`).join(' ');
  svg.append(svgElement('path', { d }, 'spark-line'));
  const [lastTime, lastValue] = gauge.series.at(-1);
  svg.append(svgElement('circle', { cx: r(x(lastTime)), cy: r(y(lastValue)), r: 2.5 }, 'spark-dot'));
  return svg;
}

// ---- the feed ----------------------------------------------------------------------------

/**
 * Keeps /v1/flood/live and the gauges fresh: both on start, on every alert the server
 * pushes (a burst of alerts, one per zone, is one refetch) and whenever the event stream
 * (re)connects, since alerts sent while it was down are missed; the gauges also every
 * `gaugeEveryMs`. `onStatus` hears 'live', 'reconnecting' or 'error'. Without `series`,
 * the gauges come with their latest reading only (the map needs no more).
 */
export function liveFeed({ onLive = () => {}, onGauges = () => {}, onAlert = () => {}, onStatus = () => {}, gaugeEveryMs = 60_000, series = true } = {}) {
  let source = null;
  let timer = null;
  let running = null;
  const wanted = { live: false, gauges: false };

  async function run() {
    while (wanted.live || wanted.gauges) {
      const live = wanted.live;
      const gauges = wanted.gauges;
      wanted.live = wanted.gauges = false;
      const jobs = [];
      if (live) jobs.push(api('/v1/flood/live').then(({ json }) => onLive(json)));
      if (gauges) jobs.push(loadGauges({ series }).then(onGauges));
      const results = await Promise.allSettled(jobs);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) onStatus('error', failed.reason);
      else if (source?.readyState === EventSource.OPEN) onStatus('live');
    }
    running = null;
  }

  /** Asks for a refresh; folded into the one running, if any. */
  function refresh({ live = true, gauges = true } = {}) {
    wanted.live ||= live;
    wanted.gauges ||= gauges;
    running ??= run();
    return running;
  }

  return {
    refresh,
    start() {
      refresh();
      source = new EventSource('/v1/flood/live/events');
      source.addEventListener('open', () => { onStatus('live'); refresh(); });
      source.addEventListener('error', () => onStatus(source.readyState === EventSource.CLOSED ? 'error' : 'reconnecting'));
      source.addEventListener('alert', (event) => {
        try { onAlert(JSON.parse(event.data)); } catch { /* the refetch below tells the same */ }
        refresh();
      });
      timer = setInterval(() => refresh({ live: false, gauges: true }), gaugeEveryMs);
    },
    stop() {
      source?.close();
      source = null;
      clearInterval(timer);
    },
  };
}

// ---- the map layer -----------------------------------------------------------------------

/** An 8 × 8 diagonal hatch in the watch colour, for zones on watch (RGBA, no canvas needed). */
function hatch() {
  const size = 8;
  const data = new Uint8Array(size * size * 4);
  const [r, g, b] = [0xf0, 0x7c, 0x00];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if ((x + y) % size < 2) data.set([r, g, b, 200], (y * size + x) * 4);
    }
  }
  return { width: size, height: size, data };
}

const byIds = (ids) => ['in', ['id'], ['literal', ids]];

/**
 * The live layer on `map`: zones flooded now filled dark red, on watch hatched and outlined
 * in orange (both the `flood` polygons of the style's own tiles, filtered on the ids of
 * /v1/flood/live), gauges as circles labelled with their latest reading. Call `setLive`
 * and `setGauges` with fresh data; `remove` takes it all away again.
 */
export function liveMapLayer(map) {
  let live = null;
  let gauges = [];
  let added = false;
  let removed = false;

  const ids = (state) => (live?.zones?.[state] ?? []).map((z) => z.id);
  function draw() {
    if (!added) return;
    map.setFilter(LIVE_LAYERS.floodedFill, byIds(ids('flooded')));
    map.setFilter(LIVE_LAYERS.floodedLine, byIds(ids('flooded')));
    map.setFilter(LIVE_LAYERS.watchFill, byIds(ids('watch')));
    map.setFilter(LIVE_LAYERS.watchLine, byIds(ids('watch')));
    map.getSource(GAUGE_SOURCE).setData(gaugesGeoJSON(gauges, live));
  }

  function add() {
    if (removed || added) return;
    // Under the labels of the style, so street and ward names stay readable.
    const labels = map.getStyle().layers.find((l) => l.type === 'symbol')?.id;
    if (!map.hasImage(HATCH)) map.addImage(HATCH, hatch());
    const zones = { source: 'diaba', 'source-layer': 'flood', filter: byIds([]) };
    map.addLayer({ id: LIVE_LAYERS.watchFill, type: 'fill', ...zones, paint: { 'fill-pattern': HATCH } }, labels);
    map.addLayer({ id: LIVE_LAYERS.watchLine, type: 'line', ...zones, paint: { 'line-color': LIVE_COLOURS.watch, 'line-width': 2.5 } }, labels);
    map.addLayer({ id: LIVE_LAYERS.floodedFill, type: 'fill', ...zones, paint: { 'fill-color': LIVE_COLOURS.flooded, 'fill-opacity': 0.62 } }, labels);
    map.addLayer({ id: LIVE_LAYERS.floodedLine, type: 'line', ...zones, paint: { 'line-color': '#4a0000', 'line-width': 1.5 } }, labels);
    map.addSource(GAUGE_SOURCE, { type: 'geojson', data: gaugesGeoJSON([], null) });
    map.addLayer({
      id: LIVE_LAYERS.gauges, type: 'circle', source: GAUGE_SOURCE,
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, 5, 15, 9],
        'circle-color': ['match', ['get', 'state'], 'flooded', LIVE_COLOURS.flooded, 'stale', LIVE_COLOURS.stale, 'none', LIVE_COLOURS.stale, LIVE_COLOURS.gauge],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 2,
      },
    });
    map.addLayer({
      id: LIVE_LAYERS.gaugeLabels, type: 'symbol', source: GAUGE_SOURCE,
      layout: {
        'text-field': ['get', 'label'],
        'text-font': ['Noto Sans Bold'], // served by diaba itself, like the style's labels
        'text-size': 13,
        'text-anchor': 'top',
        'text-offset': [0, 0.9],
        'text-allow-overlap': true,
      },
      paint: { 'text-color': '#102a54', 'text-halo-color': '#ffffff', 'text-halo-width': 1.6 },
    });
    added = true;
    draw();
  }

  // The style's `diaba` source exists once the style is in; until then, wait for it.
  if (map.getSource('diaba')) add();
  else map.once('load', add);

  return {
    setLive(next) { live = next; draw(); },
    setGauges(next) { gauges = next; draw(); },
    remove() {
      removed = true;
      if (!added) return;
      for (const id of Object.values(LIVE_LAYERS).reverse()) if (map.getLayer(id)) map.removeLayer(id);
      if (map.getSource(GAUGE_SOURCE)) map.removeSource(GAUGE_SOURCE);
      added = false;
    },
  };
}

/** The live layer's key and freshness, as a MapLibre control (redrawn on a language change). */
export class LiveLegend {
  constructor() {
    this.status = 'connecting';
    this.updated = null;
    this.redraw = () => this.draw();
  }

  onAdd() {
    this.container = document.createElement('div');
    this.container.className = 'maplibregl-ctrl live-legend';
    this.container.setAttribute('role', 'status');
    document.addEventListener('diaba:language', this.redraw);
    this.draw();
    return this.container;
  }

  onRemove() {
    document.removeEventListener('diaba:language', this.redraw);
    this.container.remove();
  }

  update({ status, updated } = {}) {
    if (status) this.status = status;
    if (updated) this.updated = updated;
    this.draw();
  }

  draw() {
    if (!this.container) return;
    const item = (className, key) => {
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = `swatch ${className}`;
      li.append(swatch, t(key));
      return li;
    };
    const heading = document.createElement('strong');
    heading.textContent = t('live.legend');
    const list = document.createElement('ul');
    list.append(item('live-flooded', 'live.state.flooded'), item('live-watch', 'live.state.watch'), item('round live-gauge', 'live.gauge'));
    const status = document.createElement('p');
    status.className = `live-status ${this.status}`;
    status.dataset.status = this.status;
    status.textContent = `${t(`live.status.${this.status}`)}${this.updated ? ` · ${formatTime(this.updated, { seconds: true })}` : ''}`;
    this.container.replaceChildren(heading, list, status);
  }
}

/**
 * The map page's "Flooding now" button: on, the live layer and its legend join the map and
 * follow the alerts; off, they go and the event stream is closed.
 */
export function liveToggle(map, button) {
  let feed = null;
  let layer = null;
  let legend = null;
  button.addEventListener('click', () => {
    const on = !feed;
    button.setAttribute('aria-pressed', String(on));
    if (on) {
      layer = liveMapLayer(map);
      legend = new LiveLegend();
      map.addControl(legend, 'top-left');
      feed = liveFeed({
        onLive: (live) => { layer.setLive(live); legend.update({ updated: Date.now() }); },
        onGauges: (gauges) => layer.setGauges(gauges),
        onStatus: (status) => legend.update({ status }),
        series: false,
      });
      feed.start();
    } else {
      feed.stop();
      layer.remove();
      map.removeControl(legend);
      feed = layer = legend = null;
    }
  });
}
