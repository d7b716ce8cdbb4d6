// Talking to diaba: JSON in and out, failures as the server's problem+json detail.

/** An HTTP failure with the server's explanation (RFC 9457 `detail`) when it sent one. */
export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function api(path, { token, method = 'GET', body, headers = {} } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiProblem(response.status, json);
  return { json, response };
}

/** A Vpostcode as people type it: "94119 2QPH+864", any case, spaces optional. */
export const VPOSTCODE = /^\s*(\d{5})\s*([23456789CFGHJMPQRVWX]{4}\+[23456789CFGHJMPQRVWX]{2,3})\s*$/i;
/** A parcel key: ward / sheet / number. */
export const PARCEL_KEY = /^\s*(\d{5})\s*[/\s-]\s*(\d+)\s*[/\s-]\s*(\d+)\s*$/;
/** A national parcel id: 12 GeoHash characters. */
export const NATIONAL_ID = /^\s*([0-9bcdefghjkmnpqrstuvwxyz]{12})\s*$/i;

export function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A GeoJSON circle (64 sides) of `radius` metres around [lon, lat], for accuracy rings. */
export function circle([lon, lat], radius) {
  const dLat = radius / 111_320;
  const dLon = dLat / Math.cos((lat * Math.PI) / 180);
  const ring = [];
  for (let i = 0; i <= 64; i++) {
    const a = (i / 64) * 2 * Math.PI;
    ring.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: {} };
}

/** Bounds [[w, s], [e, n]] of a GeoJSON geometry. */
export function bounds(geometry) {
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(visit);
  };
  visit(geometry.coordinates);
  return [[w, s], [e, n]];
}
