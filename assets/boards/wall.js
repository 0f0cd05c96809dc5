/* The wall's renderer: its snapshots in, the frame's new values out ([element id, prop, value]).
 *
 * `wall` (the figures) and `wall-map` (the open cases, handed over as the items the page holds) are
 * drawn from what the server computed — rates and their status, SLA rows as shown, the map's shades,
 * each marker's light, the trend's Plotly figure; here they only become text, classes and props. The
 * functions dash-leaflet calls (markers, clusters, popups, the boundaries' style) are here too. Text
 * from cases is only ever set as text, or escaped before it goes into a popup's HTML.
 *
 * Loaded in the browser as window.pingan.renderers.wall, in Node as a CommonJS module.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else {
    const NS = (root.pingan = root.pingan || {});
    (NS.renderers = NS.renderers || {}).wall = factory();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const SHADES = ["#1f6f4a", "#9a6b12", "#9b1c1f"];
  const CLUSTER_REM = 5; // the clusters' radius: the same clusters on a 1080p and a 4K wall

  function figures(s, frame, lib) {
    const ids = frame.ids;
    const out = [];
    const set = (id, prop, value, key) => out.push(key === undefined ? [id, prop, value] : [id, prop, value, key]);
    const c = s.cases || {};
    for (const [k, id] of Object.entries(ids.now)) set(id, "children", lib.fmt(c[k]));
    kpis(s, ids, set, lib);
    sla(s, ids, set, lib);
    areas(s, ids, set, lib);
    const trend = s.charts && s.charts.trend && s.charts.trend[lib.lang];
    if (trend) set(ids.trend, "figure", lib.figure(trend), JSON.stringify([trend, lib.rem]));
    ticker(s, ids, set, lib);
    shade(s, frame, set, lib);
    // the city in view, once the frame has its size (the map's initial bounds are applied before it
    // does, and a 4K wall would show it at a 1080p zoom); once only: an operator may pan
    set(ids.map, "viewport", { bounds: frame.bounds, transition: "fitBounds", options: { animate: false } }, "fitted");
    return out;
  }

  function kpis(s, ids, set, lib) {
    const month = ((s.kpis || {})["30d"] || {}).rates || {};
    const today = ((s.kpis || {}).today || {}).rates || {};
    for (const [k, id] of Object.entries(ids.kpi)) {
      const m = month[k] || {};
      const d = today[k] || {};
      set(id.value, "children", lib.pct(m.value));
      set(id.today, "children", d.value == null ? "—" : lib.pct(d.value) + "%");
      set(id.tile, "className", "kpi-tile " + (m.status && m.status !== "none" ? m.status : ""));
    }
  }

  function sla(s, ids, set, lib) {
    const rows = Object.fromEntries((s.sla || []).map((r) => [r.row, r]));
    for (const [row, id] of Object.entries(ids.sla)) {
      const r = rows[row] || {};
      set(id.red, "children", lib.fmt(r.red || 0));
      set(id.red, "className", "c-red" + (r.red ? " lit" : ""));
      set(id.yellow, "children", lib.fmt(r.yellow || 0));
      set(id.yellow, "className", "c-yellow" + (r.yellow ? " lit" : ""));
      set(id.due_within_1h, "children", lib.fmt(r.due_within_1h || 0));
      set(id.running, "children", lib.fmt(r.running || 0));
    }
  }

  function areas(s, ids, set, lib) {
    const by = Object.fromEntries((s.areas || []).map((a) => [a.code, a]));
    for (const [code, id] of Object.entries(ids.area)) {
      const a = by[code] || {};
      set(id.open, "children", lib.fmt(a.open));
      set(id.received_today, "children", lib.fmt(a.received_today));
      set(id.handled_today, "children", lib.fmt(a.handled_today));
      set(id.red, "children", lib.fmt(a.red));
      set(id.red, "className", "c-red" + (a.red ? " lit" : ""));
      set(id.yellow, "children", lib.fmt(a.yellow));
      const closure = a.kpis_30d && a.kpis_30d.rates.closure.value;
      set(id.closure_30d, "children", closure == null ? "—" : lib.pct(closure) + "%");
    }
  }

  function ticker(s, ids, set, lib) {
    const items = s.ticker || [];
    ids.tick.forEach((id, i) => {
      const it = items[i];
      if (!it) {
        set(id, "children", "");
        set(id, "className", "tick");
        return;
      }
      set(id, "children", `${lib.bj(it.occurred_at, "hm")}  ${it.source_name} · ${lib.category(it.category)} · ${it.summary}`);
      set(id, "className", `tick p${it.priority}` + (it.fresh ? " new" : ""));
    });
  }

  // the districts shaded (city scope): by open cases, or by overdue clocks with ?choropleth=risk
  function shade(s, frame, set, lib) {
    const mode = frame.choropleth === "risk" ? "risk" : "open";
    const fill = {};
    if (frame.scope_level === "city") for (const a of s.areas || []) fill[a.code] = mode === "risk" ? a.shade_by_risk : a.shade_by_open;
    set(frame.ids.boundaries, "hideout", { shade: fill, scope: frame.scope });
    set(frame.ids.legend, "children", lib.tr(mode === "risk" ? "choropleth_risk" : "choropleth_open"));
  }

  // the open cases, as the page holds them: one GeoJSON collection, clustered by dash-leaflet
  function caseMap(markers, frame, lib, drawn) {
    return [[frame.ids.markers, "data", { type: "FeatureCollection", features: markers }, `draw:${drawn}`]];
  }

  // once, when the page boots: clusters as wide on every screen
  function init(frame, lib) {
    return [[frame.ids.markers, "superClusterOptions", { radius: Math.round(CLUSTER_REM * lib.rem), maxZoom: 15 }]];
  }

  // --- what dash-leaflet calls -----------------------------------------------------------------------

  function popupHtml(p, lib) {
    return [
      `<div class="pop-title">${lib.esc(lib.category(p.category))} · ${lib.esc(lib.tr("status." + p.status))}</div>`,
      `<div class="pop-sum">${lib.esc(p.summary)}</div>`,
      `<div class="pop-meta">${lib.esc(lib.tr("reported"))} ${lib.esc(lib.bj(p.reported_at, "full"))}</div>`,
      p.deadline ? `<div class="pop-meta">${lib.esc(lib.tr("due"))} ${lib.esc(lib.bj(p.deadline, "full"))}</div>` : "",
      `<div class="pop-meta">${lib.esc(lib.tr("sources"))} ${lib.esc((p.sources || [p.source]).join(" / "))}</div>`,
    ].join("");
  }

  function pageLib() {
    const NS = self.pingan;
    return NS.lib() || NS.format.lib({ text: {}, lang: "zh", categories: {} }, 16);
  }

  function caseMarker(feature, latlng) {
    const p = feature.properties;
    const R = pageLib().rem;
    if (p.fresh) {
      const px = Math.round(1.4 * R);
      return L.marker(latlng, { icon: L.divIcon({ className: `fresh-marker l-${p.light}`, html: "<span></span>", iconSize: [px, px] }) });
    }
    return L.circleMarker(latlng, { radius: (p.priority <= 1 ? 0.5 : 0.375) * R, weight: 1, fillOpacity: 0.95, className: `case-marker l-${p.light}` });
  }

  function caseCluster(feature, latlng) {
    const n = feature.properties.point_count;
    const size = n < 10 ? "s" : n < 100 ? "m" : "l";
    const px = Math.round(2.75 * pageLib().rem);
    return L.marker(latlng, { icon: L.divIcon({ html: `<div><span>${n}</span></div>`, className: `pingan-cluster cl-${size}`, iconSize: L.point(px, px) }) });
  }

  function casePopup(feature, layer) {
    if (feature.properties.cluster) return;
    layer.bindPopup(() => popupHtml(feature.properties, pageLib()), { maxWidth: 420, className: "case-popup" });
  }

  function boundaryStyle(feature, ctx) {
    const h = (ctx && ctx.hideout) || {};
    const level = (h.shade || {})[feature.properties.adcode];
    const mine = feature.properties.adcode === h.scope;
    return {
      color: mine ? "#ffffff" : "#6fb6ff", weight: mine ? 3 : 1.5, opacity: 0.9,
      fillColor: level == null ? "#1d2b45" : SHADES[level], fillOpacity: level == null ? 0.25 : 0.45,
      className: `district d-${feature.properties.adcode}`,
    };
  }

  return { render: { wall: figures, "wall-map": caseMap }, init, popupHtml, caseMarker, caseCluster, casePopup, boundaryStyle };
});
