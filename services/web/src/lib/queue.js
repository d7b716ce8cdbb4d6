// The field page's outbox in IndexedDB: every capture is stored before anything is sent,
// so closing the page, losing the network or the battery loses nothing.
import { openDB } from 'idb';

const db = openDB('diaba-field', 1, {
  upgrade(database) {
    database.createObjectStore('outbox', { keyPath: 'key' }).createIndex('created', 'created');
    database.createObjectStore('packs'); // ward code → PMTiles Blob
  },
});

/** A new capture, `queued`, keyed by the Idempotency-Key it will be sent with. */
export async function enqueue(body) {
  const item = { key: newKey(), body, state: 'queued', created: Date.now() };
  await (await db).put('outbox', item);
  return item;
}

export async function items() {
  return (await db).getAllFromIndex('outbox', 'created');
}

export async function update(item) {
  await (await db).put('outbox', item);
}

export async function savePack(ward, blob) {
  await (await db).put('packs', blob, ward);
}

export async function pack(ward) {
  return (await db).get('packs', ward);
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Plain-HTTP pages (not a secure context) lack randomUUID; 128 random bits do as well.
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
