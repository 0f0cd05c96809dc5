/* The emergency board's renderer: its snapshot in, the frame's new values out ([element id, prop,
 * value]). Everything computed — the response strip's shares, each district's warnings and wind
 * circle arrivals, the grids by people on duty, the storm's track, wind circles and forecast as
 * GeoJSON, the map's view — comes from the server; here it becomes text, classes and props. The
 * functions dash-leaflet calls to draw the map layer are here too. The acknowledgement form posts to
 * /api/alerts/ack.
 *
 * Loaded in the browser as window.pingan.renderers.emergency, in Node as a CommonJS module.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else {
    const NS = (root.pingan = root.pingan || {});
    const board = factory();
    (NS.renderers = NS.renderers || {}).emergency = board;
    root.dash_clientside = root.dash_clientside || {};
    root.dash_clientside.pingan = Object.assign({}, root.dash_clientside.pingan, { acknowledge: board.acknowledge });
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const WARN_FILL = ["#1d2b45", "#2f7fe8", "#e0c02a", "#f08c00", "#e03131"]; // none, blue … red
  const ROMAN = { I: "Ⅰ", II: "Ⅱ", III: "Ⅲ", IV: "Ⅳ" };
  // the meteorological symbol of a tropical cyclone, turning
  const EYE = '<svg viewBox="-12 -12 24 24"><circle r="3.6" fill="none" stroke="currentColor" stroke-width="2.4"/>' +
    '<path d="M0,-3.6 A8.5,8.5 0 0,1 9,-8.5 M0,3.6 A8.5,8.5 0 0,1 -9,8.5" stroke="currentColor" stroke-width="2.4" fill="none"/></svg>';

  function render(s, frame, lib) {
    const out = [];
    const set = (id, prop, value, key) => out.push(key === undefined ? [id, prop, value] : [id, prop, value, key]);
    const ids = frame.ids;
    response(s.response, ids, set, lib);
    storm(s.storm, ids, set, lib);
    districts(s, ids, set, lib);
    gauges(s.gauges || {}, ids, set, lib);
    incidents(s, ids, set, lib);
    mobilisation(s.mobilisation || {}, ids, set, lib);
    areas(s, ids, set, lib);
    checkins(s.checkins || {}, frame, set, lib);
    const b = s.boats || {};
    for (const k of Object.keys(ids.boat)) set(ids.boat[k], "children", lib.fmt(b[k]));
    lists(s, ids, set, lib);
    alerts(s, ids, set, lib);
    const rank = Object.fromEntries((s.districts || []).map((d) => [d.code, d.warning_rank]));
    set(ids.boundaries, "hideout", { rank, scope: frame.scope });
    set(ids.layer, "data", s.map_layer);
    set(ids.layer, "hideout", { lang: lib.lang });
    // no zoom animation: a rotating wall may leave the page mid-animation, and Leaflet then throws
    // (Leaflet#6775, "_leaflet_pos" of a removed pane)
    set(ids.map, "viewport", { bounds: s.view_bounds, transition: "fitBounds", options: { animate: false } }, JSON.stringify(s.view_bounds));
    // district names give way while the view takes a storm in (the map's own class is fixed once drawn)
    set(ids.map_panel, "className", "panel map em-map-panel" + (s.storm_in_view ? " zoom-low" : ""));
    return out;
  }

  function level(r) {
    return r && r.active && r.level ? ROMAN[r.level] || r.level : "—";
  }

  function response(r, ids, set, lib) {
    const sev = r && r.active ? r.severity : 0;
    set(ids.resp_level, "children", level(r));
    set(ids.resp_level, "className", `resp-level lv${sev}`);
    set(ids.level_badge, "children", r && r.active ? r.name || lib.tr("em_level", { x: level(r) }) : "");
    set(ids.level_badge, "className", `level-badge lv${sev}`);
    const strip = (r && r.strip) || [];
    ids.strip.forEach((id, i) => {
      const seg = strip[i];
      set(id, "hidden", !seg);
      set(id, "className", seg ? `seg lv${seg.severity}` : "seg");
      set(id, "style", { width: seg ? `${seg.share_pct}%` : "0%" });
      set(id, "title", seg ? `${lib.bj(seg.start, "md")} ${seg.action || ""}` : "");
    });
    set(ids.resp_from, "children", strip.length ? lib.bj(strip[0].start, "md") : "");
    set(ids.resp_to, "children", strip.length ? lib.bj(strip[strip.length - 1].end, "md") : "");
    if (!r) {
      set(ids.resp_name, "children", lib.tr("em_no_response"));
      set(ids.resp_since, "children", "");
      set(ids.resp_peak, "children", "");
      return;
    }
    set(ids.resp_name, "children", r.active ? r.name || "" : `${r.name || lib.tr("em_response")} · ${lib.tr("em_stood_down")}`);
    set(ids.resp_since, "children", `${lib.tr("em_since")} ${lib.bj(r.since, "md")}` + (r.action ? ` · ${r.action}` : ""));
    set(ids.resp_peak, "children", r.peak ? `${lib.tr("em_peak")} ${lib.tr("em_level", { x: ROMAN[r.peak] || r.peak })} · ${lib.bj(r.episode_start, "md")}` : "");
  }

  function catName(c, lib) {
    return lib.tr(`storm_cat.${c == null ? "None" : c}`);
  }

  function storm(st, ids, set, lib) {
    if (!st) {
      set(ids.storm_chip, "children", lib.tr("em_no_storm"));
      set(ids.storm_chip, "className", "storm-chip none");
      set(ids.storm_info, "children", lib.tr("em_no_storm"));
      return;
    }
    const l = st.latest;
    const en = lib.lang === "en";
    const name = en ? st.name_en || st.name_zh : st.name_zh || st.name_en;
    set(ids.storm_chip, "children", en ? `${name} (${st.id})` : `${st.id.slice(-4)} 号 ${catName(l.category, lib)}「${name}」`);
    set(ids.storm_chip, "className", `storm-chip cat${l.category}` + (st.near ? " near" : ""));
    const dash = (v) => (v == null ? "—" : v);
    const lines = [
      `${name} · ${catName(l.category, lib)}`,
      lib.tr("em_storm_at", { t: lib.bj(l.at, "md"), lat: l.lat, lon: l.lon }),
      lib.tr("em_wind", { pw: dash(l.wind_force), w: dash(l.wind_ms), p: dash(l.pressure_hpa) }),
      l.moving_towards && l.speed_kmh ? lib.tr("em_move", { spd: l.speed_kmh, dir: l.moving_towards }) : "",
      st.near ? `${lib.tr("em_dist_now")} ${st.distance_km} ${lib.tr("em_km")}` : lib.tr("em_far", { km: st.distance_km }),
      ...(st.landfalls || []).map((x) => `${lib.tr("em_landfall")} ${lib.bj(x.at, "md")} ${x.place}`),
    ].filter(Boolean);
    set(ids.storm_info, "children", lines.join("\n"));
  }

  function arrival(a, lib) {
    if (!a || a.at == null) return "—";
    return a.inside ? lib.tr("em_inside") : lib.bj(a.at, "dhm");
  }

  function districts(s, ids, set, lib) {
    const byCode = Object.fromEntries((s.districts || []).map((d) => [d.code, d]));
    for (const [code, slots] of Object.entries(ids.chip)) {
      const d = byCode[code] || {};
      const mine = d.warnings || [];
      slots.forEach((id, i) => {
        const w = mine[i];
        // a colour the server does not know comes as null: the words call it colour.None (an empty word)
        set(id, "children", w ? `${w.hazard}${lib.tr("colour." + (w.colour == null ? "None" : w.colour))}` : i === 0 ? lib.tr("em_no_warning") : "");
        set(id, "className", w ? `chip c${w.colour_rank}` : i === 0 ? "chip none" : "chip");
        set(id, "title", w ? `${w.headline} · ${lib.bj(w.effective_from, "md")} → ${lib.bj(w.expires_at, "md")}` : "");
      });
      const cell = ids.district[code];
      const top = mine[0];
      set(cell.issued, "children", top ? `${lib.bj(top.issued_at, "hm")}–${lib.bj(top.expires_at, "hm")}` : "");
      set(cell.km, "children", d.distance_km == null ? "—" : lib.fmt(d.distance_km));
      set(cell.closest, "children", d.closest_km == null ? "—" : d.passed ? lib.tr("em_passed") : lib.fmt(d.closest_km));
      set(cell.closest, "title", d.closest_at ? lib.bj(d.closest_at, "dhm") : "");
      set(cell.force7, "children", arrival(d.force7, lib));
      set(cell.force7, "className", "c-force7" + (d.force7 && d.force7.inside ? " lit" : ""));
      set(cell.force10, "children", arrival(d.force10, lib));
    }
  }

  function gauges(g, ids, set, lib) {
    set(ids.gauges_count, "children", `${lib.fmt(g.over || 0)} / ${lib.fmt(g.stations || 0)}`);
    const items = g.items || [];
    ids.gauge.forEach((id, i) => {
      const x = items[i];
      if (!x) {
        set(id, "children", i === 0 && !items.length ? lib.tr("em_gauges_none") : "");
        set(id, "className", "slot");
        return;
      }
      const dash = (v) => (v == null ? "—" : v);
      const text = x.station_type === "PP"
        ? `${x.name} · ${lib.tr("em_rain")} ${dash(x.rain_10min_mm)} mm/10min · ${lib.tr("em_rain_today")} ${dash(x.rain_today_mm)} mm`
        : `${x.name} · ${dash(x.water_level_m)} m (${x.warning === "guarantee" ? lib.tr("em_guarantee") : lib.tr("em_over")} ${x.over_warning_m == null ? "—" : "+" + x.over_warning_m.toFixed(2)} m)`;
      set(id, "children", text);
      set(id, "className", `slot ${x.warning}`);
    });
  }

  function incidents(s, ids, set, lib) {
    const inc = s.incidents || {};
    const label = inc.episode ? lib.tr("em_window_episode", { t: lib.bj(inc.start, "md") }) : lib.tr("em_window_day");
    set(ids.incidents_window, "children", `${label} · ${lib.fmt(inc.total || 0)}`);
    const fig = s.charts && s.charts.incidents && s.charts.incidents[lib.lang];
    if (fig) set(ids.incidents, "figure", lib.figure(fig), JSON.stringify([fig, lib.rem]));
  }

  function mobilisation(m, ids, set, lib) {
    const sh = m.shelters || {};
    set(ids.mob.deployed, "children", lib.fmt(m.deployed));
    set(ids.mob.transferred, "children", lib.fmt(m.transferred));
    set(ids.mob.shelters, "children", lib.fmt(sh.opened));
    set(ids.mob.occupancy, "children", `${lib.fmt(sh.occupancy)} / ${lib.fmt(sh.capacity)}`);
    const teams = m.teams || [];
    ids.team.forEach((id, i) => {
      const t = teams[i];
      const bar = ids.team_bar[i];
      if (!t) {
        set(id, "children", "");
        set(bar, "style", { width: "0%" });
        return;
      }
      const total = t.activated + t.available;
      set(id, "children", `${t.type} · ${lib.tr("em_teams_active")} ${lib.fmt(t.activated)} / ${lib.fmt(total)} · ${lib.fmt(t.persons)}${lib.tr("em_persons")}`);
      set(bar, "style", { width: `${total ? Math.round((100 * t.activated) / total) : 0}%` });
    });
  }

  // the area table: people deployed, transferred and sheltered, and the grids checked in (on a
  // district's board, each town's grids as a bar by people on duty)
  function areas(s, ids, set, lib) {
    const mob = Object.fromEntries(((s.mobilisation || {}).areas || []).map((a) => [a.code, a]));
    const chk = Object.fromEntries(((s.checkins || {}).areas || []).map((a) => [a.code, a]));
    for (const [code, cell] of Object.entries(ids.area)) {
      const a = mob[code] || {};
      const c = chk[code];
      set(cell.deployed, "children", lib.fmt(a.deployed));
      set(cell.transferred, "children", lib.fmt(a.transferred));
      set(cell.occupancy, "children", a.occupancy == null ? "—" : a.capacity ? `${lib.fmt(a.occupancy)}/${lib.fmt(a.capacity)}` : lib.fmt(a.occupancy));
      set(cell.grid, "children", c ? `${lib.fmt(c.checked_in)}/${lib.fmt(c.grids)}` : "—");
      set(cell.grid, "className", "g-count" + (c && c.grids && c.checked_in === c.grids ? " full" : ""));
      const classes = (c && s.checkins.since && c.grid_classes) || null;
      for (const g of ["missing", "few", "some", "many"]) {
        if (!cell[`grid_${g}`]) continue; // the city's board has no bars
        const share = classes && c.grids ? (100 * classes[g]) / c.grids : 0;
        set(cell[`grid_${g}`], "style", { width: `${share.toFixed(1)}%` });
      }
    }
  }

  function checkins(c, frame, set, lib) {
    const ids = frame.ids;
    set(ids.checkin_count, "children", c.since ? `${lib.fmt(c.checked_in)} / ${lib.fmt(c.grids)}` : "—");
    set(ids.checkin_duty, "children", c.since ? ` ${lib.tr("em_on_duty")} ${lib.fmt(c.on_duty)}${lib.tr("em_persons")}` : "");
    const missing = c.missing || [];
    // a district's board names the grids still missing; the city's counts them by district (the table)
    const named = frame.scope_level !== "city" && missing.length;
    set(ids.checkin_missing, "children", !c.missing_count ? "" : `${lib.tr("em_missing")} ${lib.fmt(c.missing_count)}` +
      (named ? `${lib.tr("colon")}${missing.join(lib.tr("list_sep"))}${c.missing_count > missing.length ? "…" : ""}` : ""));
  }

  function slots(list, items, text, none, set) {
    list.forEach((id, i) => {
      const x = items[i];
      set(id, "children", x ? text(x) : i === 0 ? none : "");
      set(id, "className", x ? "slot" : "slot empty");
    });
  }

  function lists(s, ids, set, lib) {
    const names = Object.fromEntries((s.districts || []).map((d) => [d.code, d.name]));
    const cl = s.closures || {};
    set(ids.closures_count, "children", `${lib.tr("em_open")} ${lib.fmt(cl.active || 0)} · ${lib.tr("em_done")} ${lib.fmt(cl.lifted || 0)}`);
    slots(ids.closure, cl.items || [], (x) => `${names[x.district] || ""} ${x.type}｜${x.name}${x.reason ? "（" + x.reason + "）" : ""} · ${lib.bj(x.since, "md")}`, lib.tr("em_closures_none"), set);
    const tk = s.tasks || {};
    set(ids.tasks_count, "children", `${lib.tr("em_open")} ${lib.fmt(tk.open || 0)} · ${lib.tr("em_done")} ${lib.fmt(tk.done || 0)}`);
    slots(ids.task, tk.items || [], (x) => `${names[x.district] || ""} ${x.task} · ${x.assignee}${x.due ? " · " + lib.bj(x.due, "md") : ""}`, lib.tr("em_tasks_none"), set);
  }

  function alerts(s, ids, set, lib) {
    const a = s.alert;
    const items = (a && a.items) || [];
    set(ids.alerts_count, "children", a ? lib.tr("em_unacked", { n: lib.fmt(a.unacknowledged) }) : lib.tr("em_alerts_none"));
    ids.alert_item.forEach((id, i) => {
      const x = items[i];
      if (!x) {
        set(id, "children", i === 0 && !items.length ? lib.tr("em_alerts_none") : "");
        set(id, "className", "slot");
        return;
      }
      const k = x.acknowledgement;
      set(id, "children", `${x.headline} · ${lib.bj(x.since, "md")}` + (k ? ` · ${lib.tr("em_acked")} ${k.who} ${lib.bj(k.at, "md")}` : ""));
      set(id, "className", "slot " + (k ? "acked" : "unacked"));
    });
    const acks = s.acknowledgements || [];
    ids.ack_item.forEach((id, i) => {
      const x = acks[i];
      const what = x && (x.key.split(":")[0] === "resp" ? lib.tr("em_response") : lib.tr("em_warnings"));
      set(id, "children", x ? `${lib.bj(x.at, "md")} ${x.who} · ${what}${x.comment ? "：" + x.comment : ""}` : "");
    });
  }

  // --- what dash-leaflet calls to draw the map layer and the boundaries ----------------------------

  function pageLib() {
    const NS = self.pingan;
    return NS.lib() || NS.format.lib({ text: {}, lang: "zh", categories: {} }, 16);
  }

  // lines and polygons: the track by intensity, the wind circles, the forecast (colours in the stylesheet)
  function layerStyle(feature) {
    const p = feature.properties;
    const R = pageLib().rem;
    if (p.kind === "track") return { className: `storm-track cat${p.category}`, weight: 0.22 * R, interactive: false };
    if (p.kind === "wind-circle") return { className: `wind-circle f${p.force}`, weight: 1.5, interactive: false };
    if (p.kind === "forecast") return { className: "storm-forecast", weight: 0.14 * R, dashArray: `${0.5 * R} ${0.4 * R}`, interactive: false };
    return {};
  }

  function icon(cls, html, size) {
    return L.divIcon({ className: cls, html, iconSize: [size, size] });
  }

  function layerPoint(feature, latlng) {
    const p = feature.properties;
    const R = pageLib().rem;
    switch (p.kind) {
      case "fix": return L.circleMarker(latlng, { radius: 0.22 * R, weight: 1, fillOpacity: 1, className: `storm-fix cat${p.category}` });
      case "forecast-point": return L.circleMarker(latlng, { radius: 0.25 * R, weight: 2, fill: false, className: `storm-forecast-point cat${p.category}` });
      case "centre": return L.marker(latlng, { icon: icon(`storm-eye cat${p.category}`, EYE, Math.round(2.6 * R)), interactive: false, keyboard: false });
      case "landfall": return L.marker(latlng, { icon: icon("landfall", "<span>▼</span>", R) });
      case "gauge": return L.marker(latlng, { icon: icon(`gauge-mark ${p.warning}`, "<span>▲</span>", R) });
      case "closure": return L.marker(latlng, { icon: icon("closure-mark", "<span>封</span>", 1.3 * R) });
      case "vessel": return L.circleMarker(latlng, { radius: 0.2 * R, weight: 1, fillOpacity: 0.9, interactive: false, className: `vessel${p.returning ? " returning" : ""}` });
      default: return L.circleMarker(latlng, { radius: 2 });
    }
  }

  function tooltipText(p, lib) {
    const dash = (v) => (v == null ? "—" : v);
    switch (p.kind) {
      case "fix": return `${lib.bj(p.at, "md")} · ${catName(p.category, lib)} · ${dash(p.wind_ms)} m/s · ${dash(p.pressure_hpa)} hPa`;
      case "forecast-point": return `${lib.tr("em_forecast")} ${lib.bj(p.at, "md")}`;
      case "landfall": return `${lib.tr("em_landfall")} ${lib.bj(p.at, "md")} ${p.place}`;
      case "gauge": return `${p.name} · ${dash(p.value)}`;
      case "closure": return `${p.type}｜${p.name}`;
      default: return "";
    }
  }

  function layerTooltip(feature, layer) {
    const p = feature.properties;
    const text = tooltipText(p, pageLib());
    if (!text) return;
    if (p.kind === "landfall") layer.bindTooltip(text, { permanent: true, direction: "right", className: "landfall-label" });
    else layer.bindTooltip(text);
  }

  function boundaryStyle(feature, ctx) {
    const h = (ctx && ctx.hideout) || {};
    const rank = (h.rank || {})[feature.properties.adcode] || 0;
    const mine = feature.properties.adcode === h.scope;
    return {
      color: mine ? "#ffffff" : "#6fb6ff", weight: mine ? 3 : 1.5, opacity: 0.9, fillColor: WARN_FILL[rank], fillOpacity: rank ? 0.55 : 0.25,
      className: `district d-${feature.properties.adcode}`, // named, for screen readers' and tests' sake
    };
  }

  function regionStyle() {
    return { color: "#35598f", weight: 1, opacity: 0.8, fillColor: "#12223d", fillOpacity: 0.7 };
  }

  // the acknowledgement form: every item not yet acknowledged, signed by the logged-in duty officer
  // (the server takes the name from the session and checks the role, the scope and the CSRF token)
  function acknowledge(_n, comment) {
    const NS = self.pingan;
    const p = NS.page();
    const lib = pageLib();
    if (!p || !p.snap) return "";
    const a = p.snap.alert;
    const keys = ((a && a.items) || []).filter((x) => !x.acknowledgement).map((x) => x.key);
    if (!keys.length) return lib.tr("em_alerts_none");
    const viewer = p.config.viewer || {};
    const status = p.config.ids.ack_status;
    fetch("/api/alerts/ack", {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": viewer.csrf || "" },
      body: JSON.stringify({ keys, comment: comment || "", scope: p.config.scope }),
    })
      .then((r) => r.json())
      .then((res) => {
        const refused = (res.refused || []).map((x) => x.error).join("；");
        const text = res.error ? res.error : lib.tr("em_ack_done", { n: (res.acknowledged || []).length }) + (refused ? ` · ${refused}` : "");
        self.dash_clientside.set_props(status, { children: text });
      })
      .catch((err) => self.dash_clientside.set_props(status, { children: String(err) }));
    return "…";
  }

  return { render: { emergency: render }, tooltipText, layerStyle, layerPoint, layerTooltip, boundaryStyle, regionStyle, acknowledge };
});
