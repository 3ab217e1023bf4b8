// The service worker of development builds (`trunk serve`): it retires any worker a
// release build left on this origin (scripts/run --upstream and trunk serve share
// 127.0.0.1:8080), so development never sees an old build's cached files.
//
// scripts/pwa-hook copies it to dist/sw.js when TRUNK_PROFILE is not "release". The
// browser checks /sw.js when a page of the origin opens, finds these new bytes and
// installs this worker, which deletes the app's caches, unregisters itself and reloads
// the open pages from the network. Development builds never register a worker.

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((key) => key.startsWith("medinsight-")).map((key) => caches.delete(key))),
      )
      .then(() => self.registration.unregister())
      .then(() => self.clients.matchAll({ type: "window" }))
      .then((pages) => Promise.all(pages.map((page) => page.navigate(page.url)))),
  );
});
