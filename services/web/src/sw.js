// The field page's service worker: keeps the page and its assets for offline starts.
// API answers are never cached here (the outbox lives in IndexedDB); the map style is
// cached network-first so the offline map (PMTiles in IndexedDB) can start.
const VERSION = '__VERSION__';
const SHELL = __SHELL__;
const CACHE = `diaba-field-${VERSION}`;
const NETWORK_FIRST = ['/field', '/manifest.webmanifest', '/tiles/style.json', '/tiles/all.json'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('diaba-field-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (NETWORK_FIRST.includes(url.pathname)) {
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
          }
          return response;
        })
        .catch(() => caches.match(url.pathname, { ignoreVary: true }).then((hit) => hit ?? Response.error())),
    );
  } else if (url.pathname.startsWith('/fonts/')) {
    // Label glyphs never change for a build of the fonts: kept once fetched (a pack
    // download fetches the ones its labels use), so the offline map has labels.
    event.respondWith(
      caches.match(event.request).then((hit) => hit ?? fetch(event.request).then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })),
    );
  } else if (url.pathname.startsWith('/assets/')) {
    // MapLibre asks for its worker with ?v=…; the cached copy is that same build. Module
    // scripts are fetched with an Origin header, and answers vary on it (CORS).
    event.respondWith(caches.match(event.request, { ignoreSearch: true, ignoreVary: true }).then((hit) => hit ?? fetch(event.request)));
  }
});
