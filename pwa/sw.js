// The app's service worker: the page installs and opens with no network.
//
// scripts/pwa-hook (Trunk's post_build hook) writes dist/sw.js as two constants —
// VERSION, a hash of every file of the build, and FILES, each file's path and SHA-256
// as a Subresource Integrity string — followed by this file. A new build changes
// VERSION, so the browser sees new bytes at /sw.js and installs the new worker beside
// the old one; the page then offers "a new version is ready — reload"
// (src/platform/service_worker.rs, src/ui/widgets/update_banner.rs).
//
// What it does, and what it never does:
// - install: fetches every file of the build past the HTTP cache, each checked against
//   its hash (a file from another build fails the install instead of being cached),
//   into one cache named after VERSION;
// - fetch: answers GETs of those files, and navigations to the app itself, from that
//   cache; everything else — /score, /endpoint-info, any other path or method — is not
//   touched at all and goes to the network as if there were no worker, so nothing the
//   endpoint answers is ever cached;
// - activate: deletes the caches of older builds;
// - it fetches nothing from any other origin.

/* global VERSION, FILES */
const CACHE = `medinsight-${VERSION}`;
const SCOPE = new URL(self.registration.scope);
// The app's own page: its scope and index.html; navigations elsewhere are not ours.
const PAGES = new Set([SCOPE.pathname, `${SCOPE.pathname}index.html`]);
const INDEX = `${SCOPE.pathname}index.html`;
const PATHS = new Set(FILES.map(([path]) => path));

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      Promise.all(
        FILES.map(async ([path, integrity]) => {
          const response = await fetch(new Request(path, { cache: "reload", integrity }));
          if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
          await cache.put(path, response);
        }),
      ),
    ),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys
            .filter((key) => key.startsWith("medinsight-") && key !== CACHE)
            .map((key) => caches.delete(key)),
        ),
      )
      // The first worker takes the page that registered it, so that it works offline
      // at once; a later one waits for the user's "reload" (the message below).
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== SCOPE.origin) return;
  let path = null;
  if (request.mode === "navigate" && PAGES.has(url.pathname)) path = INDEX;
  else if (PATHS.has(url.pathname)) path = url.pathname;
  if (path === null) return;
  event.respondWith(
    caches
      .open(CACHE)
      .then((cache) => cache.match(path))
      // Evicted by the browser: the network, as without a worker.
      .then((cached) => cached || fetch(request)),
  );
});
