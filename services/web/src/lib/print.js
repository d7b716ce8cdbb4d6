// Printing the map to scale: 1:500, 1:1 000 or 1:2 000 on A4 or A3, as PNG or PDF, with a
// scale bar, a north arrow, the date the map shows and, on demo data, a "synthetic" note.
//
// True to scale on paper. A CSS pixel is 1/96 inch, so at 1:S one CSS pixel of map stands
// for S × 0.0254 / 96 m of ground; MapLibre's 512-px Web-Mercator world gives the zoom for
// that at the centre's latitude. The map is rendered offscreen at that zoom with a pixel
// ratio of 3, 2.5 or 2 (288, 240 or 192 dpi: the first whose canvas fits 4096 px a side)
// and copied pixel for pixel onto a sheet of the paper's size at the same dpi, so 1 mm of
// paper is exactly S mm of ground. The PNG says its dpi (pHYs); the PDF page is the paper
// size in points, the image placed at 72/dpi pt per pixel and printing marked "no scaling".
//
// Web Mercator treats WGS 84 latitudes as if on a sphere, so north–south it draws ground
// (1 − e²)/(1 − e² sin²φ) times too long: 0.65 % in Cần Thơ, 1.8 mm over an A4 sheet. The
// map is rendered that much taller and squeezed back, so both directions hold to ±0.01 %.
import * as maplibregl from 'maplibre-gl';
import { t } from './i18n.js';
import { api } from './api.js';

export const SCALES = [500, 1000, 2000];
export const PAPERS = { A4: [210, 297], A3: [297, 420] }; // mm, portrait
const MARGIN_MM = 10;
const CSS_PX_PER_INCH = 96;
const PIXEL_RATIOS = [3, 2.5, 2]; // 288, 240, 192 dpi: whole device pixels for even CSS sizes
const MAX_CANVAS_PX = 4096; // MapLibre's default maxCanvasSize, safe on phones
const EQUATOR_M = 40075016.686; // 2π × 6 378 137 m, Web Mercator's sphere
const WGS84_E2 = 0.00669437999014;
const IDLE_TIMEOUT_MS = 60_000;

/** Ground metres per CSS pixel at 1:`scale` (a CSS pixel is 1/96 inch). */
export function metresPerCssPixel(scale) {
  return (scale * 0.0254) / CSS_PX_PER_INCH;
}

/** The MapLibre zoom (512-px tiles) at which one CSS pixel is `mpp` metres east–west at `lat`. */
export function zoomFor(mpp, lat) {
  return Math.log2((EQUATOR_M * Math.cos((lat * Math.PI) / 180)) / (512 * mpp));
}

/** North–south ground per Web-Mercator pixel over east–west ground per pixel at `lat` (< 1). */
export function northSouthFactor(lat) {
  const sin = Math.sin((lat * Math.PI) / 180);
  return (1 - WGS84_E2) / (1 - WGS84_E2 * sin * sin);
}

/**
 * Everything about one print but the pixels: paper and map frame in mm, CSS px and device
 * px, the dpi, the zoom, the ground extent. `paper` is 'A4' or 'A3'.
 */
export function layout({ scale, paper, orientation, lat }) {
  const [short, long] = PAPERS[paper];
  const [paperW, paperH] = orientation === 'landscape' ? [long, short] : [short, long];
  const even = (mm) => 2 * Math.round((mm / 25.4) * (CSS_PX_PER_INCH / 2));
  const cssWidth = even(paperW - 2 * MARGIN_MM); // the map frame in CSS px, even so that
  const cssHeight = even(paperH - 2 * MARGIN_MM); // × 2.5 is whole device pixels too
  const squeeze = northSouthFactor(lat);
  const renderHeight = 2 * Math.round(cssHeight / squeeze / 2);
  const pixelRatio = PIXEL_RATIOS.find((r) => Math.max(cssWidth, renderHeight) * r <= MAX_CANVAS_PX) ?? 1;
  const dpi = pixelRatio * CSS_PX_PER_INCH;
  const px = (mm) => (mm / 25.4) * dpi;
  const mpp = metresPerCssPixel(scale);
  return {
    scale, paper, orientation, dpi, pixelRatio,
    paperMm: [paperW, paperH],
    paperPt: [(paperW / 25.4) * 72, (paperH / 25.4) * 72],
    widthPx: Math.floor(px(paperW)),
    heightPx: Math.floor(px(paperH)),
    frame: { x: Math.round(px(MARGIN_MM)), y: Math.round(px(MARGIN_MM)), width: cssWidth * pixelRatio, height: cssHeight * pixelRatio },
    cssWidth, cssHeight, renderHeight, squeeze,
    metresPerPixel: mpp,
    zoom: zoomFor(mpp, lat),
    groundMetres: [cssWidth * mpp, cssHeight * mpp],
  };
}

/** "1 000": thousands set apart by a space, unambiguous in Vietnamese and English alike. */
export function groupDigits(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

function todayInVietnam() {
  return new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10);
}

/** Wires #print and #print-dialog; `asOfDate()` is the date the map shows (YYYY-MM-DD). */
export function setupPrint(map, { asOfDate }) {
  const $ = (id) => document.getElementById(id);
  const button = $('print');
  const dialog = $('print-dialog');
  const form = $('print-form');
  const status = $('print-status');
  if (!button || !dialog || !form) return;

  const choice = () => ({
    scale: Number($('print-scale').value),
    paper: $('print-paper').value,
    orientation: $('print-orientation').value,
    format: $('print-format').value,
  });
  const showExtent = () => {
    const { groundMetres: [w, h] } = layout({ ...choice(), lat: map.getCenter().lat });
    $('print-extent').textContent = `${Math.round(w)} × ${Math.round(h)} m`;
  };
  form.addEventListener('change', showExtent);

  button.addEventListener('click', () => {
    status.textContent = '';
    status.classList.remove('error');
    showExtent();
    dialog.showModal();
  });
  $('print-cancel').addEventListener('click', () => dialog.close());

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    const go = $('print-go');
    button.disabled = go.disabled = true;
    status.classList.remove('error');
    status.textContent = t('print.busy');
    try {
      const date = asOfDate() || todayInVietnam();
      // Asked each time, and no guess when it cannot be: the note must never be missing.
      const { json: health } = await api('/health');
      await printMap(map, { ...choice(), date, synthetic: Boolean(health.demo_profile) });
      dialog.close();
    } catch (error) {
      status.classList.add('error');
      status.textContent = `${t('print.failed')}: ${error.message}`;
      console.warn('print failed', error);
    } finally {
      button.disabled = go.disabled = false;
    }
  });
}

/** Renders, composes and downloads one print; records it as window.diaba.lastPrint. */
export async function printMap(map, { scale, paper, orientation, format, date, synthetic }) {
  const { lng, lat } = map.getCenter();
  const plan = layout({ scale, paper, orientation, lat });
  const { canvas: mapImage, bounds, release } = await renderOffscreen(map, plan, [lng, lat]);
  const sheet = document.createElement('canvas');
  try {
    sheet.width = plan.widthPx;
    sheet.height = plan.heightPx;
    const ctx = sheet.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, sheet.width, sheet.height);
    const { x, y, width, height } = plan.frame;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(mapImage, x, y, width, height); // east–west 1:1, north–south squeezed back
    release();
    const scaleBar = compose(ctx, plan, { centre: [lng, lat], date, synthetic });

    const name = `diaba-1-${scale}-${date}.${format}`;
    const blob = format === 'pdf' ? await pdfOf(sheet, plan, name) : await pngOf(sheet, plan.dpi);
    window.diaba = window.diaba ?? {};
    window.diaba.lastPrint = {
      scale, paper, orientation, format, date, synthetic,
      metresPerPixel: plan.metresPerPixel, // ground metres per CSS pixel (1/96 inch of paper)
      widthPx: plan.widthPx, heightPx: plan.heightPx, dpi: plan.dpi,
      zoom: plan.zoom, centre: { lon: lng, lat },
      frame: plan.frame, groundMetres: plan.groundMetres, northSouthFactor: plan.squeeze,
      bounds, scaleBar, paperPt: plan.paperPt, file: name, bytes: blob.size,
    };
    download(blob, name);
  } finally {
    release();
    sheet.width = sheet.height = 0; // let the pixels go now, not at the next GC
  }
}

/** The map's style drawn offscreen at the print's zoom, north up, once every tile is in. */
async function renderOffscreen(map, plan, center) {
  const container = document.createElement('div');
  container.className = 'print-offscreen';
  container.setAttribute('aria-hidden', 'true');
  container.style.width = `${plan.cssWidth}px`;
  container.style.height = `${plan.renderHeight}px`;
  document.body.append(container);
  const style = map.getStyle();
  delete style.terrain; // flat and in Mercator: the scale above holds only there
  delete style.projection;
  let offscreen = null;
  const release = () => {
    offscreen?.remove(); // also loses the WebGL context
    offscreen = null;
    container.remove();
  };
  try {
    offscreen = new maplibregl.Map({
      container, style, center, zoom: plan.zoom, bearing: 0, pitch: 0,
      interactive: false, attributionControl: false, trackResize: false, fadeDuration: 0,
      pixelRatio: plan.pixelRatio, maxCanvasSize: [MAX_CANVAS_PX, MAX_CANVAS_PX], maxZoom: 24,
      canvasContextAttributes: { preserveDrawingBuffer: true, antialias: true },
    });
    const errors = [];
    offscreen.on('error', (event) => errors.push(event.error ?? new Error('map error')));
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the map did not finish drawing')), IDLE_TIMEOUT_MS);
      offscreen.once('idle', () => { clearTimeout(timer); resolve(); });
    });
    // A sheet with holes in it must not pass for the map: fail loudly instead.
    if (errors.length) throw errors[0];
    const canvas = offscreen.getCanvas();
    const expected = [plan.cssWidth * plan.pixelRatio, plan.renderHeight * plan.pixelRatio];
    if (canvas.width !== expected[0] || canvas.height !== expected[1]) {
      throw new Error(`the map rendered ${canvas.width}×${canvas.height} px, not ${expected.join('×')}`);
    }
    const b = offscreen.getBounds();
    return { canvas, bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], release };
  } catch (error) {
    release();
    throw error;
  }
}

/** Title, note, north arrow and the cartouche (scale bar, scale, dates, centre) on the sheet. */
function compose(ctx, plan, { centre, date, synthetic }) {
  const mm = (v) => (v / 25.4) * plan.dpi;
  const pt = (v) => (v / 72) * plan.dpi;
  const font = (size, weight = 400) => `${weight} ${pt(size)}px system-ui, "DejaVu Sans", sans-serif`;
  const { x, y, width, height } = plan.frame;
  const pad = mm(2);
  const box = (bx, by, bw, bh, fill = '#fff') => {
    ctx.fillStyle = fill;
    ctx.fillRect(bx, by, bw, bh);
    ctx.lineWidth = mm(0.2);
    ctx.strokeStyle = '#222';
    ctx.strokeRect(bx, by, bw, bh);
  };
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';

  // The frame.
  ctx.lineWidth = mm(0.35);
  ctx.strokeStyle = '#222';
  ctx.strokeRect(x, y, width, height);

  // Title (and the synthetic note, where it applies) at the top left.
  const title = t('app.title');
  ctx.font = font(12, 700);
  let titleW = ctx.measureText(title).width;
  const note = synthetic ? t('print.synthetic') : null;
  if (note) {
    ctx.font = font(9, 700);
    titleW = Math.max(titleW, ctx.measureText(note).width);
  }
  const titleH = pt(12) * 1.3 + (note ? pt(9) * 1.3 + mm(1.5) : 0);
  box(x + mm(3), y + mm(3), titleW + 2 * pad, titleH + 2 * pad);
  ctx.fillStyle = '#222';
  ctx.font = font(12, 700);
  ctx.fillText(title, x + mm(3) + pad, y + mm(3) + pad);
  if (note) {
    const ny = y + mm(3) + pad + pt(12) * 1.3 + mm(0.5);
    ctx.fillStyle = '#fff3cd';
    ctx.fillRect(x + mm(3) + pad - mm(0.8), ny, titleW + mm(1.6), pt(9) * 1.3 + mm(0.6));
    ctx.fillStyle = '#a00000';
    ctx.font = font(9, 700);
    ctx.fillText(note, x + mm(3) + pad, ny + mm(0.4));
  }

  // North arrow at the top right: the print is always north up (bearing 0).
  const arrowH = mm(14);
  const ax = x + width - mm(3) - mm(10);
  const ay = y + mm(3);
  box(ax, ay, mm(10), arrowH + mm(6));
  const cx = ax + mm(5);
  ctx.fillStyle = '#222';
  ctx.font = font(10, 700);
  ctx.textAlign = 'center';
  ctx.fillText(t('print.north'), cx, ay + mm(1));
  const tip = ay + mm(6);
  const base = tip + arrowH - mm(1);
  ctx.beginPath(); // left half filled, right half open: reads as an arrow in black and white
  ctx.moveTo(cx, tip); ctx.lineTo(cx - mm(3), base); ctx.lineTo(cx, base - mm(3)); ctx.closePath();
  ctx.fill();
  ctx.beginPath();
  ctx.moveTo(cx, tip); ctx.lineTo(cx + mm(3), base); ctx.lineTo(cx, base - mm(3)); ctx.closePath();
  ctx.lineWidth = mm(0.3);
  ctx.stroke();
  ctx.textAlign = 'left';

  // The cartouche at the bottom left: scale bar exactly 50 mm of paper.
  const barMm = 50;
  const barMetres = (barMm / 1000) * plan.scale;
  const barPx = mm(barMm);
  const segments = 5;
  const lines = [
    [`${t('print.date')}: ${date}`, font(8)],
    [`${t('print.printed')}: ${new Date().toLocaleString('sv-SE', { timeZone: 'Asia/Ho_Chi_Minh' }).slice(0, 16)}`, font(8)],
    [`${t('print.centre')} (WGS 84): ${centre[1].toFixed(6)}, ${centre[0].toFixed(6)}`, font(8)],
    [t('print.true_scale'), font(7, 700)],
  ];
  const scaleText = `${t('print.scale')} 1:${groupDigits(plan.scale)}`;
  ctx.font = font(11, 700);
  let cartW = Math.max(barPx + mm(8), ctx.measureText(scaleText).width);
  for (const [text, f] of lines) {
    ctx.font = f;
    cartW = Math.max(cartW, ctx.measureText(text).width);
  }
  const lineH = pt(8) * 1.35;
  const cartH = pt(11) * 1.4 + mm(2.5) + pt(7) * 1.4 + mm(1) + lines.length * lineH;
  const bx = x + mm(3);
  const by = y + height - mm(3) - cartH - 2 * pad;
  box(bx, by, cartW + 2 * pad, cartH + 2 * pad);
  let cy = by + pad;
  ctx.fillStyle = '#222';
  ctx.font = font(11, 700);
  ctx.fillText(scaleText, bx + pad, cy);
  cy += pt(11) * 1.4;
  const barX = bx + pad + mm(2);
  for (let i = 0; i < segments; i++) {
    const sx = barX + (barPx * i) / segments;
    ctx.fillStyle = i % 2 ? '#fff' : '#222';
    ctx.fillRect(sx, cy, barPx / segments, mm(2));
  }
  ctx.lineWidth = mm(0.2);
  ctx.strokeStyle = '#222';
  ctx.strokeRect(barX, cy, barPx, mm(2));
  cy += mm(2.5);
  ctx.fillStyle = '#222';
  ctx.font = font(7);
  ctx.textAlign = 'center';
  for (let i = 0; i <= segments; i++) {
    const label = `${groupDigits((barMetres * i) / segments)}${i === segments ? ' m' : ''}`;
    ctx.fillText(label, barX + (barPx * i) / segments + (i === segments ? pt(3) : 0), cy);
  }
  ctx.textAlign = 'left';
  cy += pt(7) * 1.4 + mm(1);
  for (const [text, f] of lines) {
    ctx.font = f;
    ctx.fillText(text, bx + pad, cy);
    cy += lineH;
  }

  // The sources, in the bottom margin under the frame, shrunk to its width if need be.
  const attribution = document.querySelector('.maplibregl-ctrl-attrib-inner')?.textContent || 'diaba';
  ctx.font = font(6);
  const shrink = Math.min(1, width / ctx.measureText(attribution).width);
  ctx.font = font(6 * shrink);
  ctx.fillStyle = '#444';
  ctx.fillText(attribution, x, y + height + mm(1.5));
  return { metres: barMetres, px: barPx, paperMm: barMm };
}

// ---- PNG: the canvas's own encoder, plus a pHYs chunk so viewers print it at its dpi ------

let crcTable = null;
function crc32(bytes) {
  crcTable ??= Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const b of bytes) crc = crcTable[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

async function pngOf(canvas, dpi) {
  const blob = await new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the PNG encoder failed'))), 'image/png'));
  const png = new Uint8Array(await blob.arrayBuffer());
  const ihdrEnd = 8 + 8 + 13 + 4; // signature, IHDR length + type, its data, its CRC
  const chunk = new Uint8Array(4 + 4 + 9 + 4);
  const view = new DataView(chunk.buffer);
  const perMetre = Math.round(dpi / 0.0254);
  view.setUint32(0, 9);
  chunk.set([0x70, 0x48, 0x59, 0x73], 4); // pHYs
  view.setUint32(8, perMetre);
  view.setUint32(12, perMetre);
  chunk[16] = 1; // unit: metre
  view.setUint32(17, crc32(chunk.subarray(4, 17)));
  return new Blob([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)], { type: 'image/png' });
}

// ---- PDF: one page, one lossless image; small enough to write by hand --------------------

const ascii = (text) => new TextEncoder().encode(text);

/** A PDF text string in UTF-16BE hex, so Vietnamese titles survive. */
function pdfText(text) {
  let hex = 'FEFF';
  for (const unit of text.split('').map((c) => c.charCodeAt(0))) hex += unit.toString(16).padStart(4, '0');
  return `<${hex.toUpperCase()}>`;
}

async function deflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate')); // zlib = FlateDecode
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function pdfOf(canvas, plan, name) {
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2];
  }
  const image = await deflate(rgb);
  const [pageW, pageH] = plan.paperPt.map((v) => v.toFixed(2));
  // The image at 72/dpi points per pixel from the top-left corner: true to scale, whatever
  // the fraction of a pixel the sheet's width or height was rounded down by.
  const imageW = ((width * 72) / plan.dpi).toFixed(4);
  const imageH = ((height * 72) / plan.dpi).toFixed(4);
  const content = ascii(`q ${imageW} 0 0 ${imageH} 0 ${(Number(pageH) - Number(imageH)).toFixed(4)} cm /Map Do Q\n`);
  const created = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const objects = [
    // Viewers are asked not to shrink the page to fit on print: the scale depends on it.
    '<< /Type /Catalog /Pages 2 0 R /ViewerPreferences << /PrintScaling /None >> >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${pageW} ${pageH}] /Resources << /XObject << /Map 4 0 R >> >> /Contents 5 0 R >>`,
    [`<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode /Length ${image.length} >>`, image],
    [`<< /Length ${content.length} >>`, content],
    `<< /Title ${pdfText(`${t('app.title')} – ${t('print.scale')} 1:${groupDigits(plan.scale)} – ${name}`)} /Producer (diaba) /CreationDate (D:${created}Z) >>`,
  ];
  const parts = [new Uint8Array([...ascii('%PDF-1.7\n%'), 0xe2, 0xe3, 0xcf, 0xd3, 0x0a])]; // binary marker
  let offset = parts[0].length;
  const offsets = [];
  objects.forEach((object, i) => {
    offsets.push(offset);
    const [dict, stream] = Array.isArray(object) ? object : [object, null];
    const chunk = stream
      ? [ascii(`${i + 1} 0 obj\n${dict}\nstream\n`), stream, ascii('\nendstream\nendobj\n')]
      : [ascii(`${i + 1} 0 obj\n${dict}\nendobj\n`)];
    for (const c of chunk) { parts.push(c); offset += c.length; }
  });
  const xref = [`xref\n0 ${objects.length + 1}\n`, '0000000000 65535 f \n',
    ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  parts.push(ascii(`${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info ${objects.length} 0 R >>\nstartxref\n${offset}\n%%EOF\n`));
  return new Blob(parts, { type: 'application/pdf' });
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // long enough for the download to start
}
