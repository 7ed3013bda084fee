// AiSpace Credits service worker (a go-app ServiceWorkerTemplate: the server fills in
// {{.Version}} and {{.ResourcesToCache}}).
//
// - install: caches the app shell (pages, app.js, wasm_exec.js, app.wasm, styles,
//   icons, manifest) for this version, and only then reports installed;
// - activate: deletes the caches of older versions. It does not claim open pages: a
//   page it did not load keeps going without it, and the next navigation is
//   controlled. (Claiming would also make go-app report an update on a first visit,
//   since it reports one when a worker activates while another controls the page.)
// - fetch: the API and other dynamic paths go to the network only (never cached);
//   a page this version cached is answered from the cache at once and refreshed in
//   the background (stale-while-revalidate: a repeat visit waits for no network, and
//   pages only change with a new version, which the update banner reloads into);
//   other pages (a purchase's) try the network and fall back to the cached "/" shell
//   (the wasm app routes by URL); static resources come from the cache first (their
//   URLs carry the version), then from the network.
const cacheName = "app-" + "{{.Version}}";
const resourcesToCache = {{.ResourcesToCache}};
const networkOnly = ["/api/", "/dev/", "/healthz", "/readyz", "/metrics"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(cacheName);
      await cache.addAll(resourcesToCache);
      await self.skipWaiting();
      console.log("app worker {{.Version}} installed");
    })()
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key !== cacheName) {
          await caches.delete(key);
        }
      }
      console.log("app worker {{.Version}} activated");
    })()
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (
    request.method !== "GET" ||
    url.origin !== self.location.origin ||
    networkOnly.some((p) => url.pathname.startsWith(p))
  ) {
    return; // the browser fetches it as if there were no worker
  }
  if (request.mode === "navigate") {
    event.respondWith(navigate(request));
    return;
  }
  event.respondWith(cacheFirst(request));
});

async function navigate(request) {
  const cache = await caches.open(cacheName);
  const page = await cache.match(request, { ignoreSearch: true });
  if (page) {
    // Refresh the cached copy for next time; a failure (offline) changes nothing.
    fetch(request)
      .then((res) => {
        if (res.ok) {
          return cache.put(new URL(request.url).pathname, res);
        }
      })
      .catch(() => {});
    return page;
  }
  try {
    return await fetch(request);
  } catch (err) {
    const shell = await cache.match("/");
    if (shell) {
      return shell;
    }
    throw err;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(request);
  if (cached) {
    return cached;
  }
  try {
    return await fetch(request);
  } catch (err) {
    // Offline: an older or unversioned URL of the same file will do.
    const similar = await cache.match(request, { ignoreSearch: true });
    if (similar) {
      return similar;
    }
    throw err;
  }
}
