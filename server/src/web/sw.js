// Connect Portal's service worker. The server prepends `const VERSION = "…";` and
// `const ASSETS = "/assets/…";`, both derived from the built client files, so every build
// gets fresh cache names and precaches its own content-addressed bundle.
//
// It precaches the static shell only. Navigations go to the network, with the offline
// page as the fallback; authenticated HTML, server-function answers and anything marked
// no-store are never stored.
const CACHE = `portal-shell-${VERSION}`;
const SHELL = [
  `${ASSETS}/portal.css`,
  `${ASSETS}/portal.js`,
  `${ASSETS}/portal.wasm`,
  "/pkg/portal.css", // the offline page's stylesheet
  "/offline.html",
  "/manifest.webmanifest",
  "/favicon.svg",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names.filter((n) => n.startsWith("portal-") && n !== CACHE).map((n) => caches.delete(n)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

// The page's "Reload" on the new-version toast.
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/offline.html")));
    return;
  }
  if (SHELL.includes(url.pathname)) {
    event.respondWith(
      caches.open(CACHE).then((cache) =>
        cache.match(url.pathname).then((hit) => hit || fetch(request)),
      ),
    );
  }
  // Everything else (server functions, pages' data) goes to the network untouched.
});
