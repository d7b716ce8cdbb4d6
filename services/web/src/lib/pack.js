// Offline maps: a ward's PMTiles pack kept as a Blob in IndexedDB and read in place by the
// pmtiles library, so the map works with no network at all.
import * as maplibregl from 'maplibre-gl';
import { PMTiles, Protocol } from 'pmtiles';
import { pack as storedPack, savePack } from './queue.js';

const protocol = new Protocol();
maplibregl.addProtocol('pmtiles', protocol.tile);

/** A pmtiles Source over a Blob: range reads become Blob slices. */
class BlobSource {
  constructor(key, blob) {
    this.key = key;
    this.blob = blob;
  }
  getKey() {
    return this.key;
  }
  async getBytes(offset, length) {
    return { data: await this.blob.slice(offset, offset + length).arrayBuffer() };
  }
}

/** Downloads ward `code`'s pack and keeps it, with the label glyphs it names (the service
 * worker keeps those); returns its size in bytes. */
export async function downloadPack(code) {
  const response = await fetch(`/v1/packs/${code}.pmtiles`);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const blob = await response.blob();
  const metadata = await new PMTiles(new BlobSource(`check-${code}`, blob)).getMetadata();
  const glyphs = metadata['diaba:glyphs'] ?? { fontstacks: [], ranges: [] };
  const urls = glyphs.fontstacks.flatMap((stack) => glyphs.ranges.map((range) => `/fonts/${encodeURIComponent(stack)}/${range}.pbf`));
  const fetched = await Promise.all(urls.map((url) => fetch(url)));
  const failed = fetched.find((r) => !r.ok);
  if (failed) throw new Error(`${failed.url}: HTTP ${failed.status}`);
  await savePack(code, blob);
  return blob.size;
}

/** The URL of ward `code`'s stored pack for a MapLibre source, or null when none is kept. */
export async function packSourceUrl(code) {
  const blob = await storedPack(code);
  if (!blob) return null;
  const key = `ward-${code}`;
  protocol.add(new PMTiles(new BlobSource(key, blob)));
  return `pmtiles://${key}`;
}
