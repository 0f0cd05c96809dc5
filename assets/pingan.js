/* Ping'an boards in the browser.
 *
 * One push stream (EventSource) per page carries the board's snapshots and its map's changes.
 * Rendering is pure functions from a snapshot to the values of the frame's components; a value
 * is handed to Dash (set_props) only when it differs from what is on screen, so a second with
 * no change costs nothing. Text from cases is only ever set as text, or escaped before it goes
 * into a popup's HTML.
 *
 * Always-on: the browser reconnects the stream by itself (Last-Event-ID resumes it); a watchdog
 * reopens a stream that went quiet and reloads the page only when the server answers again;
 * a new build on the server reloads the page; an optional scheduled reload.
 */
(function () {
  "use strict";
  const NS = (window.pingan = window.pingan || {});

  const QUIET_REOPEN_MS = 20000; // pings come every 5 s: this much silence means the stream is dead
  const QUIET_RELOAD_MS = 90000; // reopening did not help either: reload (if the server answers)
  const MAP_EVERY_MS = 1000; // the map is redrawn at most this often
  const FRESH_MS = 10 * 60 * 1000; // markers reported this recently (data clock) are highlighted
  const TICK_MS = 1000;

  let page = null; // everything about the board on screen; replaced when a new board boots

  // --- small helpers ------------------------------------------------------------------------

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  const BJ = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  function bj(ms, part) {
    const p = {};
    for (const x of BJ.formatToParts(new Date(ms))) p[x.type] = x.value;
    const time = `${p.hour === "24" ? "00" : p.hour}:${p.minute}:${p.second}`;
    if (part === "time") return time;
    if (part === "hm") return time.slice(0, 5);
    return `${p.year}-${p.month}-${p.day} ${time}`;
  }
  function fmt(n) {
    return n == null ? "—" : Number(n).toLocaleString("zh-CN");
  }
  function pct(v) {
    return v == null ? "—" : Number(v).toFixed(1);
  }
  function tr(key, vars) {
    let s = (page && page.config.text[key]) || key;
    for (const k in vars || {}) s = s.replace(`{${k}}`, vars[k]);
    return s;
  }
  function put(id, key, value) {
    // hand a value to Dash only when it changed
    const k = id + "\u0001" + key;
    if (page.shown[k] === value) return;
    page.shown[k] = value;
    window.dash_clientside.set_props(id, { [key]: value });
  }
  function forgetHistory() {
    // Dash keeps an undo history of every prop set from the browser (set_props), without limit: on a
    // board that sets props every second for weeks it is the whole heap. Boards have no undo.
    for (const store of window.dash_stores || []) {
      const h = store.getState().history;
      if (h && h.past && h.past.length) h.past.length = 0;
    }
  }
  function rem() {
    return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  }
  function dataNow() {
    // the data's clock (Beijing time; sped up in a demo), advanced locally between snapshots
    const s = page && page.snap;
    if (!s) return Date.now();
    const speed = (s.clock && s.clock.speed) || 1;
    return s.as_of + (Date.now() - page.snapAt) * speed;
  }

  // --- the stream -----------------------------------------------------------------------------

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
        console.warn("pingan: bad message", name, err); // never let one message stop the board
      }
    });
    on("hello", hello);
    on("snapshot", snapshot);
    on("map", mapEntry);
    on("mapfull", (m) => mapEntry({ reset: true, markers: m.markers || [] }));
    on("ping", () => {});
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

  function snapshot(s) {
    page.snap = s;
    page.snapAt = Date.now();
    board().render(s);
    renderAlert(s);
    forgetHistory();
  }

  function board() {
    return NS.boards[page.config.board] || NS.boards.wall;
  }

  function mapEntry(e) {
    const m = page.markers;
    if (e.reset) m.clear();
    for (const x of e.reset ? e.markers : e.up || []) m.set(x.id, x);
    for (const id of e.rm || []) m.delete(id);
    page.mapDirty = true;
  }

  // --- the watchdog, clock and banners (once a second) ----------------------------------------

  function onScreen() {
    // the frame this page controller renders is still in the document (a rotation replaces it with
    // another board's before that board boots: writing to ids that are gone breaks Dash's store)
    if (page !== null && !document.getElementById(page.config.ids.clock)) stop();
    return page !== null;
  }

  function tick() {
    if (!onScreen()) return;
    const now = Date.now();
    const c = page.config;
    const ids = c.ids;
    if (page.es && now - page.heardAt > QUIET_REOPEN_MS) {
      page.quietSince = page.quietSince || page.heardAt;
      page.es.close();
      if (now - page.quietSince > QUIET_RELOAD_MS) reloadWhenServerAnswers();
      else open();
    } else if (page.es && page.es.readyState === 2) {
      open(); // closed for good (an HTTP error): the browser will not retry by itself
    }
    put(ids.clock, "children", bj(dataNow(), "time"));
    const speed = page.snap && page.snap.clock && page.snap.clock.speed;
    put(ids.clock_note, "children", speed && speed !== 1 ? " · " + tr("demo_clock", { x: speed }) : "");
    const banner = bannerText(now);
    put(ids.banner, "children", banner);
    put(ids.banner, "hidden", !banner);
    if (board().tick) board().tick(now);
    forgetHistory();
  }

  function bannerText(now) {
    const c = page.config;
    if (!page.connected && now - page.heardAt > 3000) return tr("offline");
    if (!page.snap) return "";
    const since = (now - page.snapAt) / 1000;
    if (since > c.stale_after_s) return tr("stale_snapshot", { s: Math.round(since) });
    const lags = (page.snap.feeds || []).map((f) => f.lag_s).filter((x) => x != null);
    const idle = lags.length ? Math.min(...lags) + since : Infinity;
    if (idle > c.stale_after_s) return tr("stale_ingest", { s: isFinite(idle) ? Math.round(idle) : "—" });
    return "";
  }

  function reloadWhenServerAnswers() {
    fetch("/healthz", { cache: "no-store" }).then(() => location.reload(), () => { page.quietSince = Date.now() - QUIET_REOPEN_MS; });
  }

  // --- rendering: snapshot -> component values -----------------------------------------------

  function renderWall(s) {
    const ids = page.config.ids;
    for (const [k, id] of Object.entries(ids.now)) put(id, "children", fmt((s.now || {})[k]));
    put(ids.as_of, "children", s.data_as_of ? bj(s.data_as_of, "full") : "—");
    renderKpis(s);
    renderSla(s);
    renderAreas(s);
    renderTrend(s);
    renderTicker(s);
    renderFeeds(s);
    renderChoropleth(s);
  }

  function kpiClass(v, target) {
    if (v == null || target == null) return "";
    return v >= target ? "ok" : v >= target - 2 ? "warn" : "bad";
  }

  function renderKpis(s) {
    const defs = Object.fromEntries((s.kpi_defs || []).map((d) => [d.key, d]));
    const month = (s.kpis || {})["30d"] || {};
    const today = (s.kpis || {}).today || {};
    for (const [k, id] of Object.entries(page.config.ids.kpi)) {
      put(id.value, "children", pct(month[k]));
      put(id.today, "children", today[k] == null ? "—" : pct(today[k]) + "%");
      put(id.tile, "className", "kpi-tile " + kpiClass(month[k], defs[k] && defs[k].target));
    }
  }

  function renderSla(s) {
    const rows = s.sla || [];
    for (const row of page.config.sla_rows) {
      const mine = rows.filter((r) => (row.stage ? r.stage === row.stage : r.policy === row.policy));
      const sum = (k) => mine.reduce((a, r) => a + (r[k] || 0), 0);
      const id = page.config.ids.sla[row.row];
      put(id.red, "children", fmt(sum("red")));
      put(id.red, "className", "c-red" + (sum("red") ? " lit" : ""));
      put(id.yellow, "children", fmt(sum("yellow")));
      put(id.yellow, "className", "c-yellow" + (sum("yellow") ? " lit" : ""));
      put(id.due_1h, "children", fmt(sum("due_1h")));
      put(id.running, "children", fmt(sum("total")));
    }
  }

  function renderAreas(s) {
    const by = Object.fromEntries((s.areas || []).map((a) => [a.code, a]));
    for (const [code, id] of Object.entries(page.config.ids.area)) {
      const a = by[code] || {};
      put(id.open, "children", fmt(a.open));
      put(id.received_today, "children", fmt(a.received_today));
      put(id.closed_today, "children", fmt(a.closed_today));
      put(id.red, "children", fmt(a.red));
      put(id.red, "className", "c-red" + (a.red ? " lit" : ""));
      put(id.yellow, "children", fmt(a.yellow));
      const closure = a.kpis_30d && a.kpis_30d.closure;
      put(id.closure_30d, "children", closure == null ? "—" : pct(closure) + "%");
    }
  }

  function renderTrend(s) {
    const t = s.trend;
    if (!t) return;
    const key = JSON.stringify([t.today, t.yesterday, page.config.lang]);
    if (page.trendKey === key) return;
    page.trendKey = key;
    const R = rem();
    const hours = t.hours.map((h) => `${h}`);
    window.dash_clientside.set_props(page.config.ids.trend, {
      figure: {
        data: [
          { type: "bar", x: hours.slice(0, t.today.length), y: t.today, name: tr("today"), marker: { color: "#3fa7ff" } },
          { type: "scatter", mode: "lines", x: hours, y: t.yesterday, name: tr("yesterday"), line: { color: "#f5b74a", width: 0.18 * R, dash: "dot" } },
        ],
        layout: {
          paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", autosize: true,
          margin: { l: 3 * R, r: R, t: 0.5 * R, b: 2 * R },
          font: { color: "#cfe3ff", size: 0.85 * R, family: "inherit" },
          xaxis: { gridcolor: "rgba(255,255,255,0.08)", dtick: 3, range: [-0.5, 23.5] },
          yaxis: { gridcolor: "rgba(255,255,255,0.12)", rangemode: "tozero" },
          legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom", bgcolor: "rgba(0,0,0,0)" },
          bargap: 0.25,
        },
      },
    });
  }

  function renderTicker(s) {
    const items = s.ticker || [];
    const names = Object.fromEntries((s.feeds || []).map((f) => [f.code, f.name]));
    const seen = page.tickerSeen;
    page.config.ids.tick.forEach((id, i) => {
      const it = items[i];
      if (!it) {
        put(id, "children", "");
        put(id, "className", "tick");
        return;
      }
      const when = bj(Date.parse(it.t), "hm");
      const cat = (page.config.categories[it.cat] || [it.cat, it.cat])[page.config.lang === "en" ? 1 : 0];
      put(id, "children", `${when}  ${names[it.src] || it.src} · ${cat} · ${it.sum || ""}`);
      const fresh = seen.size > 0 && !seen.has(it.id);
      put(id, "className", `tick p${it.p}` + (fresh ? " new" : ""));
    });
    page.tickerSeen = new Set(items.map((x) => x.id));
  }

  function renderFeeds(s) {
    const ids = page.config.ids;
    for (const f of s.feeds || []) {
      const id = ids.feed[f.code];
      if (!id) continue; // a feed added to the registry after this page was built
      put(id, "className", `feed ${f.state}`);
      put(id, "title", `${f.name} · ${f.state} · ${tr("lag")} ${f.lag_s == null ? "—" : f.lag_s + tr("seconds")}`);
      put(ids.feed_lag[f.code], "children", f.lag_s == null ? "—" : `${Math.round(f.lag_s)}${tr("seconds")}`);
    }
  }

  // three classes of districts: by open cases relative to the busiest, or by overdue clocks
  function renderChoropleth(s) {
    const mode = page.config.choropleth;
    const areas = page.config.scope === "city" ? s.areas || [] : [];
    const fill = {};
    const max = Math.max(1, ...areas.map((a) => a.open || 0));
    for (const a of areas) {
      let level;
      if (mode === "risk") level = !a.red ? 0 : a.red / Math.max(1, a.open) < 0.05 ? 1 : 2;
      else level = (a.open || 0) < max / 3 ? 0 : (a.open || 0) < (2 * max) / 3 ? 1 : 2;
      fill[a.code] = level;
    }
    const hideout = { fill, mode, scope: page.config.scope };
    const key = JSON.stringify(hideout);
    if (page.fillKey !== key) {
      page.fillKey = key;
      window.dash_clientside.set_props(page.config.ids.boundaries, { hideout });
    }
    put(page.config.ids.legend, "children", tr(mode === "risk" ? "choropleth_risk" : "choropleth_open"));
  }

  // the header's alert strip, on every board: flashing until every item is acknowledged
  function renderAlert(s) {
    const a = s.alert;
    const red = a && a.level === "red";
    const ids = page.config.ids;
    put(ids.alert, "hidden", !red);
    let text = "";
    if (red) text = tr("em_alert_banner", { h: a.headline || "" }) + (a.unacked ? " · " + tr("em_unacked", { n: a.unacked }) : " · " + tr("em_acked"));
    put(ids.alert, "children", text);
    put(ids.alert, "className", "alert" + (red && a.unacked ? " alarm" : ""));
    NS.alert(red ? a : null);
  }

  // --- the map's markers ------------------------------------------------------------------------
  // Drawn by this file on the Leaflet map itself (clustered with supercluster), not through a Dash
  // prop: handing tens of thousands of markers to a component every two seconds kept every old copy
  // alive (the heap grew ~1 MB every 8 s). Here an update re-indexes the points and only the
  // clusters and markers that changed on screen are replaced.

  const COLOURS = ["#3fd28b", "#f5b74a", "#ff4d4f"];

  function markerLevel(p, now) {
    if (p.due && p.due * 1000 <= now) return 2;
    if (p.warn && p.warn * 1000 <= now) return 1;
    return 0;
  }

  function clusterOptions() {
    return { radius: Math.round(5 * rem()), maxZoom: 15 }; // the same clusters on a 1080p and a 4K wall
  }

  class MarkerLayer {
    constructor(map) {
      this.map = map;
      this.group = L.layerGroup().addTo(map);
      this.index = new window.Supercluster(clusterOptions()).load([]); // a moveend may come before the first load
      this.onScreen = new Map(); // key -> Leaflet layer
      this.now = Date.now();
      this.lang = "zh";
      this.redraw = this.redraw.bind(this);
      map.on("moveend", this.redraw);
    }
    load(markers, now, lang) {
      const feats = [];
      for (const m of markers) {
        if (m.dup || m.lat == null) continue; // a later report of a linked incident: its first report stands for it
        feats.push({ type: "Feature", geometry: { type: "Point", coordinates: [m.lon, m.lat] }, properties: m });
      }
      this.index = new window.Supercluster(clusterOptions()).load(feats);
      this.now = now;
      this.lang = lang;
      this.count = feats.length;
      this.redraw();
    }
    redraw() {
      if (!this.map.getContainer().isConnected) return; // the board was replaced under us
      const b = this.map.getBounds();
      const items = this.index.getClusters([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], Math.round(this.map.getZoom()));
      const next = new Map();
      for (const f of items) {
        const p = f.properties;
        const [lon, lat] = f.geometry.coordinates;
        const key = p.cluster
          ? `c:${lat.toFixed(5)},${lon.toFixed(5)}:${p.point_count}`
          : `p:${p.id}:${p.up}:${markerLevel(p, this.now)}:${this.fresh(p) ? 1 : 0}`;
        let layer = this.onScreen.get(key);
        if (!layer) {
          layer = p.cluster ? this.cluster(f, lat, lon) : this.point(p, lat, lon);
          this.group.addLayer(layer);
        }
        next.set(key, layer);
      }
      for (const [key, layer] of this.onScreen) if (!next.has(key)) this.group.removeLayer(layer);
      this.onScreen = next;
    }
    fresh(p) {
      return p.t && this.now - p.t * 1000 < FRESH_MS;
    }
    cluster(f, lat, lon) {
      const n = f.properties.point_count;
      const size = n < 10 ? "s" : n < 100 ? "m" : "l";
      const px = Math.round(2.75 * rem());
      const m = L.marker([lat, lon], {
        icon: L.divIcon({ html: `<div><span>${n}</span></div>`, className: `pingan-cluster cl-${size}`, iconSize: L.point(px, px) }),
      });
      m.on("click", () => {
        // look the cluster up in the current index: holding on to the index it was drawn from would
        // keep every earlier copy of the markers alive for as long as the cluster stays on screen
        const here = this.index.getClusters([lon - 1e-6, lat - 1e-6, lon + 1e-6, lat + 1e-6], Math.round(this.map.getZoom()));
        const c = here.find((x) => x.properties.cluster);
        this.map.flyTo([lat, lon], c ? Math.min(this.index.getClusterExpansionZoom(c.properties.cluster_id), 16) : this.map.getZoom() + 2);
      });
      return m;
    }
    point(p, lat, lon) {
      const level = markerLevel(p, this.now);
      const r = rem();
      const px = Math.round(1.4 * r);
      const layer = this.fresh(p)
        ? L.marker([lat, lon], { icon: L.divIcon({ className: `fresh-marker lv${level}`, html: "<span></span>", iconSize: [px, px] }) })
        : L.circleMarker([lat, lon], { radius: (p.p <= 1 ? 0.5 : 0.375) * r, color: "#0b1220", weight: 1, fillColor: COLOURS[level], fillOpacity: 0.95 });
      const lang = this.lang;
      layer.bindPopup(() => popupHtml(p, lang), { maxWidth: 420, className: "case-popup" });
      return layer;
    }
    destroy() {
      this.map.off("moveend", this.redraw);
      this.group.remove();
      this.onScreen.clear();
    }
  }

  function drawMarkers() {
    const map = NS.leafletMap;
    // not on screen yet, or still the previous board's map (rotation): try again next second
    if (!map || !map.getContainer().isConnected || !window.Supercluster) return;
    page.mapDirty = false;
    page.mapAt = Date.now();
    if (!page.layer || page.layer.map !== map) {
      if (page.layer) page.layer.destroy();
      page.layer = new MarkerLayer(map);
      // the same view on a 1080p and a 4K wall; not animated: a rotation that removes the map
      // mid-animation makes Leaflet's end-of-animation handler throw (`_leaflet_pos`)
      map.fitBounds(page.config.bounds, { padding: [8, 8], animate: false });
    }
    page.layer.load(page.markers.values(), dataNow(), page.config.lang);
  }

  NS.map = {
    boundaryStyle(feature, ctx) {
      const h = (ctx && ctx.hideout) || {};
      const level = (h.fill || {})[feature.properties.adcode];
      const mine = h.scope && h.scope !== "city" && feature.properties.adcode === h.scope;
      return {
        color: mine ? "#ffffff" : "#6fb6ff", weight: mine ? 3 : 1.5, opacity: 0.9,
        fillColor: level == null ? "#1d2b45" : ["#1f6f4a", "#9a6b12", "#9b1c1f"][level], fillOpacity: level == null ? 0.25 : 0.45,
      };
    },
    boundaryLabel(feature, layer, ctx) {
      const map = ctx && ctx.map;
      if (!map) return;
      NS.leafletMap = map; // the map the markers are drawn on
      // a label at the district's own point (inside its mainland, not the centre of its islands' box),
      // once per map however often the boundaries are restyled
      const key = `${L.stamp(map)}:${feature.properties.adcode}`;
      NS.labels = NS.labels || new Set();
      if (NS.labels.has(key)) return;
      NS.labels.add(key);
      L.tooltip({ permanent: true, direction: "center", className: "district-label", interactive: false })
        .setLatLng(feature.properties.label).setContent(esc(feature.properties.name)).addTo(map);
    },
    popupHtml: (p, lang) => popupHtml(p, lang || "zh"),
  };

  function popupHtml(p, lang) {
    const cat = ((page && page.config.categories[p.cat]) || [p.cat, p.cat])[lang === "en" ? 1 : 0];
    const status = tr("status." + p.st);
    const rows = [
      `<div class="pop-title">${esc(cat)} · ${esc(status)}</div>`,
      `<div class="pop-sum">${esc(p.sum)}</div>`,
      `<div class="pop-meta">${esc(tr("reported"))} ${esc(p.t ? bj(p.t * 1000, "full") : "—")}</div>`,
      p.due ? `<div class="pop-meta">${esc(tr("due"))} ${esc(bj(p.due * 1000, "full"))}</div>` : "",
      `<div class="pop-meta">${esc(tr("sources"))} ${esc((p.srcs || [p.src]).join(" / "))} · ${esc(p.id)}</div>`,
    ];
    return rows.join("");
  }

  // --- rotation and alerts ------------------------------------------------------------------------

  function scheduleRotation() {
    const c = page.config;
    if (!c.rotate_s || page.alerting) return;
    clearTimeout(page.rotateTimer);
    page.rotateTimer = setTimeout(() => {
      const views = c.rotation || [];
      if (views.length < 2) return;
      // where we are: the view with this board and scope (its other parameters may be spelt differently)
      const scopeOf = (u) => new URLSearchParams(u.search).get("scope") || "city";
      const here = views.findIndex((v) => {
        const u = new URL(v, location.href);
        return u.pathname === location.pathname && scopeOf(u) === scopeOf(location);
      });
      const next = views[(here + 1) % views.length];
      const u = new URL(next, location.href);
      window.dash_clientside.set_props("url", { pathname: u.pathname, search: u.search });
    }, c.rotate_s * 1000);
  }

  // a red-level alert on a rotating wall: stop rotating and stay on (or go to) the alert's board
  // until the alert is over; a page nobody rotates (a tablet, an analyst) only shows the strip
  NS.alert = function (alert) {
    if (page === null) return;
    const was = page.alerting;
    page.alerting = !!alert;
    document.documentElement.classList.toggle("alarm", !!(alert && alert.unacked));
    if (!page.config.rotate_s) return;
    if (alert && !was) {
      clearTimeout(page.rotateTimer);
      const target = alert.board && `/${alert.board}`;
      if (target && target !== location.pathname) window.dash_clientside.set_props("url", { pathname: target });
    } else if (!alert && was) {
      scheduleRotation();
    }
  };

  NS.boards = NS.boards || {};
  NS.boards.wall = {
    render: renderWall,
    tick(now) {
      if (page.mapDirty && now - page.mapAt >= MAP_EVERY_MS) drawMarkers();
    },
    stop(p) {
      if (p.layer) p.layer.destroy();
    },
  };
  // what a board's renderer (assets/*.js, loaded before this file) needs from the page
  NS.util = { put, tr, bj, fmt, pct, esc, rem, dataNow, renderFeeds, page: () => page };

  // --- boot ---------------------------------------------------------------------------------------

  function stop() {
    if (page === null) return;
    if (page.es) page.es.close();
    if (board().stop) board().stop(page);
    clearInterval(page.timer);
    clearTimeout(page.rotateTimer);
    clearTimeout(page.reloadTimer);
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

  function boot(config) {
    if (!config) return null;
    stop();
    page = {
      config, shown: {}, markers: new Map(), mapDirty: false, mapAt: 0, snap: null, snapAt: 0, lastId: null,
      es: null, layer: null, heardAt: Date.now(), quietSince: null, connected: false, build: null, screen: screenId(),
      tickerSeen: new Set(), trendKey: null, fillKey: null, alerting: false,
    };
    page.timer = setInterval(tick, TICK_MS);
    if (config.reload_h > 0) page.reloadTimer = setTimeout(reloadWhenServerAnswers, config.reload_h * 3600 * 1000);
    open();
    scheduleRotation();
    NS.page = () => page; // for tests and for a curious operator in the console
    return Date.now();
  }

  function scope(value, search) {
    const q = new URLSearchParams(search || "");
    q.set("scope", value);
    return "?" + q.toString();
  }

  NS.boot = boot;
  const mine = (window.dash_clientside && window.dash_clientside.pingan) || {}; // boards' own (emergency.js)
  window.dash_clientside = Object.assign({}, window.dash_clientside, { pingan: Object.assign({}, mine, { boot, scope }) });
})();
