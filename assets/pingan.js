/* The boards' core in the browser: what every board's page does, whatever the board.
 *
 * One push stream (EventSource) per page carries every snapshot the board reads (the page's config
 * lists them, from the board's registration). A whole snapshot goes to the board's renderer as it
 * comes; a change log is applied to the items the page holds and handed to the renderer at most
 * every LOG_EVERY_MS. A renderer (assets/boards/<board>.js, registered as pingan.renderers[board])
 * is pure: a snapshot in, [element id, prop, value] out. This file hands Dash (set_props) only the
 * values that changed, so a second with no change costs nothing. The header — clock, "data as of",
 * banners, the feed chips, the red alert strip — is drawn here for every board.
 *
 * Always-on: the browser reconnects the stream by itself (Last-Event-ID resumes it); a watchdog
 * reopens a stream that went quiet and reloads the page only when the server answers again; a new
 * build on the server reloads the page; an optional scheduled reload. A red alert stops a rotating
 * wall on the board the alert names until it is over.
 */
(function (root, factory) {
  const core = factory();
  if (typeof module === "object" && module.exports) module.exports = core;
  else core.install(root);
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const QUIET_REOPEN_MS = 20000; // pings come every 4 s: this much silence means the stream is dead
  const QUIET_RELOAD_MS = 90000; // reopening did not help either: reload (if the server answers)
  const LOG_EVERY_MS = 1000; // a change log (the case map) is redrawn at most this often
  const TICK_MS = 1000;

  // --- pure parts (unit-tested in Node) ------------------------------------------------------------

  // apply a change log entry to the items a page holds (id -> item)
  function accumulate(items, entry, field) {
    if (entry.reset) items.clear();
    for (const x of entry[field] || []) items.set(x.id, x);
    for (const id of entry.removed || []) items.delete(id);
    return items;
  }

  // the header every board has: data as of, the feed chips, the red alert strip
  function renderHead(s, config, lib) {
    const ids = config.ids;
    const out = [[ids.as_of, "children", s.data_as_of ? lib.bj(s.data_as_of, "full") : "—"]];
    for (const f of s.feeds || []) {
      const id = ids.feed[f.code];
      if (!id) continue; // a feed added to the registry after this page was built, or not on this board
      const lag = f.lag_s == null ? "—" : `${Math.round(f.lag_s)}${lib.tr("seconds")}`;
      out.push([id, "className", `feed ${f.state}`]);
      out.push([id, "title", `${f.name} · ${lib.tr("feed_state." + f.state)} · ${lib.tr("lag")} ${lag}`]);
      out.push([ids.feed_lag[f.code], "children", lag]);
    }
    const a = s.alert;
    const red = !!(a && a.level === "red");
    const text = red ? lib.tr("em_alert_banner", { h: a.headline || "" }) + " · " +
      (a.unacknowledged ? lib.tr("em_unacked", { n: a.unacknowledged }) : lib.tr("em_acked")) : "";
    out.push([ids.alert, "hidden", !red], [ids.alert, "children", text],
             [ids.alert, "className", "alert" + (red && a.unacknowledged ? " alarm" : "")]);
    return out;
  }

  // history still being written into the archive: its figures over past periods are not complete yet
  function historyNote(h, lib) {
    if (!h || h.state !== "loading") return "";
    return " · " + lib.tr("history_loading", { d: Math.floor(h.done_days), n: Math.round(h.days) });
  }

  // the banner over the header: the connection lost, the snapshots stopped, or ingestion stopped
  function bannerText(st, now, config, tr) {
    if (!st.connected && now - st.heardAt > 3000) return tr("offline");
    if (!st.snap) return "";
    const since = (now - st.snapAt) / 1000;
    if (since > config.stale_after_s) return tr("stale_snapshot", { s: Math.round(since) });
    const lags = (st.snap.feeds || []).map((f) => f.lag_s).filter((x) => x != null);
    const idle = lags.length ? Math.min(...lags) + since : Infinity;
    if (idle > config.stale_after_s) return tr("stale_ingest", { s: isFinite(idle) ? Math.round(idle) : "—" });
    return "";
  }

  // the next view of a rotation after the one on screen (found by path and scope: the other
  // parameters may be spelt differently)
  function nextView(views, here) {
    if (!views || views.length < 2) return null;
    const scopeOf = (u) => new URLSearchParams(u.search).get("scope") || "";
    const at = views.findIndex((v) => {
      const u = new URL(v, "http://x");
      return u.pathname === here.pathname && scopeOf(u) === scopeOf(here);
    });
    return views[(at + 1) % views.length];
  }

  // the data's clock (Beijing time; sped up in a demo), advanced locally between snapshots
  function dataNow(st, now) {
    if (!st.snap) return now;
    const speed = (st.snap.clock && st.snap.clock.speed) || 1;
    return st.snap.as_of + (now - st.snapAt) * speed;
  }

  // --- the page controller (browser only) ------------------------------------------------------------

  function install(root) {
    const NS = (root.pingan = root.pingan || {});
    NS.renderers = NS.renderers || {};
    let page = null; // the board on screen; replaced when a new frame boots

    const lib = () => NS.format.lib(page.config, rem());
    function rem() {
      return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    }
    function renderer() {
      return NS.renderers[page.config.board] || {};
    }
    function onScreen() {
      // the frame this controller renders is still in the document: a navigation replaces it before
      // the next board boots, and writing to ids that are gone breaks Dash's store
      if (page !== null && !document.getElementById(page.config.ids.root)) stop();
      return page !== null;
    }

    // hand Dash a value only when it changed (objects compared by their JSON unless a key is given)
    function apply(updates) {
      if (!onScreen()) return;
      guardRemovedMaps(); // Leaflet is there by the time a map's props are set
      for (const [id, prop, value, key] of updates || []) {
        if (!id) continue;
        const k = id + "\u0001" + prop;
        const seen = key !== undefined ? key : value !== null && typeof value === "object" ? JSON.stringify(value) : value;
        if (page.shown[k] === seen) continue;
        page.shown[k] = seen;
        try {
          root.dash_clientside.set_props(id, byUrl(k, prop, value));
        } catch (err) {
          console.warn("pingan: cannot set", id, prop, err); // an id the frame lacks: the rest still render
        }
      }
    }

    // A GeoJSON collection reaches its map layer as a blob: URL, never as the layer's `data` prop. Dash
    // keeps every prop it was handed in its store (layoutHashes → changedProps), and each component that
    // has not re-rendered since holds the store as it was then: a wall's case map (~0.5 MB, sent a few
    // times a minute) was retained once per such component, +1.3 MB of JS heap every 8 s. A URL is a
    // few bytes; dash-leaflet fetches it (offline: it is in this page) and keeps only the newest.
    const BLOBS_KEPT = 2; // the one shown and the one before, which the layer may still be reading
    function byUrl(k, prop, value) {
      if (prop !== "data" || !value || value.type !== "FeatureCollection" || !root.URL || !root.Blob) return { [prop]: value };
      const url = root.URL.createObjectURL(new root.Blob([JSON.stringify(value)], { type: "application/json" }));
      const urls = (page.blobs[k] = page.blobs[k] || []);
      urls.push(url);
      while (urls.length > BLOBS_KEPT) root.URL.revokeObjectURL(urls.shift());
      return { data: null, url };
    }

    // --- the stream ----------------------------------------------------------------------------

    function open() {
      const c = page.config;
      const url = `${c.stream}&screen=${encodeURIComponent(page.screen)}` + (page.lastId ? `&last=${encodeURIComponent(page.lastId)}` : "");
      const es = new EventSource(url);
      page.es = es;
      page.heardAt = Date.now();
      const on = (name, fn) => es.addEventListener(name, (ev) => {
        if (!onScreen() || page.es !== es) return;
        page.heardAt = Date.now();
        page.quietSince = null;
        if (ev.lastEventId) page.lastId = ev.lastEventId;
        try {
          fn(JSON.parse(ev.data));
        } catch (err) {
          console.error("pingan: bad message", name, err); // never let one message stop the board
        }
      });
      on("hello", hello);
      on("ping", () => {});
      // the session ended (logout, the account disabled or changed, the idle timeout): to the login
      on("logout", () => {
        es.close();
        root.location.assign(`/login?next=${encodeURIComponent(root.location.pathname + root.location.search)}`);
      });
      for (const spec of c.snapshots) on(spec.name, (s) => (spec.log ? logEntry(spec, s) : snapshot(spec, s)));
      es.onopen = () => { page.connected = true; };
      es.onerror = () => { page.connected = false; };
    }

    function hello(msg) {
      if (page.build && msg.build && msg.build !== page.build) {
        location.reload(); // the server runs newer page code
        return;
      }
      page.build = msg.build;
    }

    function snapshot(spec, s) {
      page.snap = s;
      page.snapAt = Date.now();
      const l = lib();
      apply(renderHead(s, page.config, l));
      // the alarm and the pinned wall come before the board's own panels: a panel that fails to draw
      // must not silence a red alert
      alerting(s.alert);
      if (!page.armed) {
        // the rotation starts once the first snapshot has said whether a red alert pins this wall
        page.armed = true;
        scheduleRotation();
      }
      const render = (renderer().render || {})[spec.name];
      if (render) apply(render(s, page.config, l));
    }

    function logEntry(spec, entry) {
      const items = page.logs[spec.name] || (page.logs[spec.name] = new Map());
      accumulate(items, entry, spec.items);
      page.dirty[spec.name] = true;
    }

    function drawLogs(now) {
      for (const spec of page.config.snapshots) {
        if (!spec.log || !page.dirty[spec.name] || now - (page.drawnAt[spec.name] || 0) < LOG_EVERY_MS) continue;
        page.dirty[spec.name] = false;
        page.drawnAt[spec.name] = now;
        page.drawn = (page.drawn || 0) + 1;
        const render = (renderer().render || {})[spec.name];
        if (render) apply(render([...page.logs[spec.name].values()], page.config, lib(), page.drawn));
      }
    }

    // --- the watchdog, clock and banners (once a second) ------------------------------------------

    function tick() {
      if (!onScreen()) return;
      const now = Date.now();
      const c = page.config;
      if (page.es && now - page.heardAt > QUIET_REOPEN_MS) {
        page.quietSince = page.quietSince || page.heardAt;
        page.es.close();
        if (now - page.quietSince > QUIET_RELOAD_MS) reloadWhenServerAnswers();
        else open();
      } else if (page.es && page.es.readyState === 2) {
        open(); // closed for good (an HTTP error): the browser will not retry by itself
      }
      const l = lib();
      const speed = page.snap && page.snap.clock && page.snap.clock.speed;
      const banner = bannerText(page, now, c, l.tr);
      apply([[c.ids.clock, "children", l.bj(dataNow(page, now), "time")],
             [c.ids.clock_note, "children", (speed && speed !== 1 ? " · " + l.tr("demo_clock", { x: speed }) : "") +
               historyNote(page.snap && page.snap.history, l)],
             [c.ids.banner, "children", banner], [c.ids.banner, "hidden", !banner]]);
      drawLogs(now);
    }

    function reloadWhenServerAnswers() {
      fetch("/healthz", { cache: "no-store" }).then(() => location.reload(), () => { page.quietSince = Date.now() - QUIET_REOPEN_MS; });
    }

    // --- rotation and alerts ----------------------------------------------------------------------

    function navigate(url) {
      const u = new URL(url, location.href);
      // always both parts: a pathname alone keeps the old query string
      root.dash_clientside.set_props(page.config.nav, { pathname: u.pathname, search: u.search });
    }

    function scheduleRotation() {
      const c = page.config;
      if (!c.rotate_s || page.alerting) return;
      clearTimeout(page.rotateTimer);
      page.rotateTimer = setTimeout(() => {
        const next = nextView(c.rotation, location);
        if (!next || !onScreen()) return;
        navigate(next);
        // armed again: the next frame's boot clears it; a navigation lost on a busy screen is retried
        scheduleRotation();
      }, c.rotate_s * 1000);
    }

    // a red alert on a rotating wall: stop rotating and stay on (or go to) the alert's board until the
    // alert is over; a page nobody rotates (a tablet, an analyst) only shows the strip
    function alerting(alert) {
      const was = page.alerting;
      page.alerting = !!alert;
      document.documentElement.classList.toggle("alarm", !!(alert && alert.unacknowledged));
      if (!page.config.rotate_s) return;
      if (alert && !was) {
        clearTimeout(page.rotateTimer);
        // only to a board this wall rotates through (a screen showing other boards stays, stopped)
        const rotates = (c) => (c.rotation || []).some((v) => new URL(v, location.href).pathname === alert.board_path);
        if (alert.board_path && alert.board_path !== location.pathname && rotates(page.config)) {
          const q = new URLSearchParams(location.search);
          navigate(`${alert.board_path}?${q.toString()}`);
        }
      } else if (!alert && was) {
        scheduleRotation();
      }
    }

    // --- boot -------------------------------------------------------------------------------------

    function stop() {
      if (page === null) return;
      if (page.es) page.es.close();
      clearInterval(page.timer);
      clearTimeout(page.rotateTimer);
      clearTimeout(page.reloadTimer);
      for (const urls of Object.values(page.blobs)) urls.forEach((u) => root.URL.revokeObjectURL(u));
      page = null;
    }

    function screenId() {
      try {
        let id = localStorage.getItem("pingan.screen");
        if (!id) {
          id = Math.random().toString(36).slice(2, 12);
          localStorage.setItem("pingan.screen", id);
        }
        return id;
      } catch (e) {
        return Math.random().toString(36).slice(2, 12);
      }
    }

    // Leaflet 1.9 throws "_leaflet_pos of undefined" when a map already taken off the page is asked
    // where its pane is: an animation or a GeoJSON layer's load (now a fetch of its blob: URL) that
    // ends after a rotating wall moved to the next board (Leaflet#6775, #7116). A removed map has
    // no pane; it answers (0, 0) instead of throwing. Applied once, to the Leaflet dash-leaflet loaded, at the first update.
    function guardRemovedMaps() {
      const L = root.L;
      if (!L || !L.Map || L.Map.prototype.pinganGuarded) return;
      const panePos = L.Map.prototype._getMapPanePos;
      L.Map.prototype._getMapPanePos = function () {
        return this._mapPane ? panePos.call(this) : L.point(0, 0);
      };
      L.Map.prototype.pinganGuarded = true;
    }

    function boot(config) {
      if (!config) return null;
      stop();
      page = {
        config, shown: {}, blobs: {}, logs: {}, dirty: {}, drawnAt: {}, snap: null, snapAt: 0, lastId: null, es: null,
        heardAt: Date.now(), quietSince: null, connected: false, build: null, screen: screenId(), alerting: false,
        armed: false,
      };
      page.timer = setInterval(tick, TICK_MS);
      if (config.reload_h > 0) page.reloadTimer = setTimeout(reloadWhenServerAnswers, config.reload_h * 3600 * 1000);
      if (renderer().init) apply(renderer().init(config, lib()));
      open();
      // armed by the first snapshot; a board whose snapshot never comes still rotates on, later
      if (config.rotate_s) page.rotateTimer = setTimeout(() => { page.armed = true; scheduleRotation(); }, QUIET_REOPEN_MS);
      return Date.now();
    }

    // the scope select: the same board at another scope (a frame that appears fires this with its own)
    function scope(values, search, configs) {
      const value = (values || []).find((v) => v != null);
      const shown = ((configs || []).find((c) => c) || {}).scope;
      if (value == null || value === shown) return root.dash_clientside.no_update;
      const q = new URLSearchParams(search || "");
      q.set("scope", value);
      return "?" + q.toString();
    }

    NS.boot = boot;
    NS.page = () => page; // for tests and for a curious operator in the console
    NS.lib = () => (page ? lib() : null);
    root.dash_clientside = root.dash_clientside || {};
    root.dash_clientside.pingan = Object.assign({}, root.dash_clientside.pingan, { boot, scope });
    NS.map = NS.map || {};
    // a district's name at its label point (inside its mainland), once per map however often the
    // boundaries are restyled (dash-leaflet calls this for each feature with the map in its context)
    NS.map.districtLabel = function (feature, layer, ctx) {
      const map = ctx && ctx.map;
      if (!map || !feature.properties.label) return;
      const key = `${L.stamp(map)}:${feature.properties.adcode}`;
      NS.map.labelled = NS.map.labelled || new Set();
      if (NS.map.labelled.has(key)) return;
      NS.map.labelled.add(key);
      L.tooltip({ permanent: true, direction: "center", className: "district-label", interactive: false })
        .setLatLng(feature.properties.label).setContent(NS.format.esc(feature.properties.name)).addTo(map);
    };
  }

  return { accumulate, renderHead, bannerText, historyNote, nextView, dataNow, install, LOG_EVERY_MS };
});
