/* The leaders' tablet's service worker (served as /tablet/sw.js, controlling /tablet only).
 *
 * Network first, the cache when the network fails: a tablet that loses the network reloads into the
 * last page, scripts and data it had (its config, the snapshots, places, cases and KPIs of the scopes
 * it visited; the page itself writes each pushed snapshot in, see tablet.js keep()). Only GETs that
 * answered 200 from this site are kept; the push stream, the login and every POST go to the network.
 * A new build (?v=) starts a new cache and drops the old; logging out clears it (Clear-Site-Data).
 * Every answer varies by Cookie (the session): a match ignores that, as the cache is the browser's own.
 */
"use strict";

const CACHE = `pingan-tablet-${new URL(self.location.href).searchParams.get("v") || "0"}`;
const KEPT = [
  /^\/tablet(\/config\.json)?$/, /^\/assets\//, /^\/_dash-component-suites\//, /^\/_dash-(layout|dependencies)$/,
  /^\/_favicon\.ico$/, /^\/api\/snapshot\//, /^\/api\/places\//, /^\/api\/history\/[^/]+\/kpis$/, /^\/api\/cases\//,
];

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith("pingan-tablet-") && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || !KEPT.some((re) => re.test(url.pathname))) return;
  // the page at any scope is one shell (it reads the scope from the address)
  const key = req.mode === "navigate" ? `${url.origin}${url.pathname}` : req.url;
  event.respondWith(fetch(req).then((resp) => {
    if (resp.ok && !resp.redirected && resp.type === "basic") {
      const copy = resp.clone();
      event.waitUntil(caches.open(CACHE).then((c) => c.put(key, copy)));
    }
    return resp;
  }, () => caches.open(CACHE).then((c) => c.match(key, { ignoreVary: true })).then((hit) => hit || Response.error())));
});
