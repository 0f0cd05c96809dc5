/* The emergency board (/board/emergency): a snapshot -> the frame's values, and the storm drawn
 * on the Leaflet map. The page mechanics (stream, watchdog, clock, banners, rotation, the alert
 * strip) are pingan.js's; this file registers the board's renderer with it and runs only when
 * called (it is loaded first, so it takes pingan.js's helpers at call time).
 */
(function () {
  "use strict";
  const NS = (window.pingan = window.pingan || {});
  NS.boards = NS.boards || {};
  const U = () => NS.util;

  const WARN = ["#1d2b45", "#2f7fe8", "#e0c02a", "#f08c00", "#e03131"]; // none, blue … red
  const COLOUR_ZH = { blue: "蓝", yellow: "黄", orange: "橙", red: "红" }; // a chip: 台风红 (the colour shows it too)
  const COLOUR_EN = { blue: "blue", yellow: "yellow", orange: "orange", red: "red" };
  const COLOUR_RANK = { blue: 1, yellow: 2, orange: 3, red: 4 };
  const ROMAN = { I: "Ⅰ", II: "Ⅱ", III: "Ⅲ", IV: "Ⅳ" };
  // CMA intensity categories: 1 TD … 6 SuperTY (9 extratropical, 0 weaker than TD)
  const CAT = {
    0: ["#8fb0da", "弱于热带低压", "below TD"], 1: ["#3fd28b", "热带低压", "TD"], 2: ["#3fa7ff", "热带风暴", "TS"],
    3: ["#f5e24a", "强热带风暴", "STS"], 4: ["#f5a623", "台风", "TY"], 5: ["#ff5fa2", "强台风", "STY"],
    6: ["#ff2d2d", "超强台风", "SuperTY"], 9: ["#b39ddb", "变性温带气旋", "ET"],
  };
  const RINGS = [["r7", "#f5e24a", 0.12], ["r10", "#f5a623", 0.18], ["r12", "#ff4d4f", 0.24]];
  const REFIT_S = 6 * 3600;
  // the meteorological symbol of a tropical cyclone, turning
  const EYE = '<svg viewBox="-12 -12 24 24"><circle r="3.6" fill="none" stroke="currentColor" stroke-width="2.4"/>' +
    '<path d="M0,-3.6 A8.5,8.5 0 0,1 9,-8.5 M0,3.6 A8.5,8.5 0 0,1 -9,8.5" stroke="currentColor" stroke-width="2.4" fill="none"/></svg>';

  function cat(c) {
    return CAT[c] || CAT[0];
  }
  function en() {
    return U().page().config.lang === "en";
  }
  function md(t) {
    // "MM-DD HH:MM" in Beijing time from epoch seconds
    return t == null ? "—" : U().bj(t * 1000, "full").slice(5, 16);
  }
  function hm(t) {
    return t == null ? "—" : U().bj(t * 1000, "hm");
  }
  function dhm(t) {
    // "DD日HH:MM" (Beijing): short enough for a table column read across the room
    if (t == null) return "—";
    const full = U().bj(t * 1000, "full");
    return en() ? full.slice(8, 16) : `${full.slice(8, 10)}日${full.slice(11, 16)}`;
  }
  function colourName(c) {
    return (en() ? COLOUR_EN : COLOUR_ZH)[c] || c || "";
  }

  // --- panels ---------------------------------------------------------------------------------

  function render(s) {
    const u = U();
    const ids = u.page().config.ids;
    u.put(ids.as_of, "children", s.data_as_of ? u.bj(s.data_as_of, "full") : "—");
    renderResponse(s.response);
    renderStormChip(s.storm);
    renderDistricts(s);
    renderGauges(s.gauges || {});
    renderIncidents(s.incidents || {});
    renderMobilisation(s.mobilisation || {});
    renderAreas(s);
    renderCheckins(s.checkins || {});
    renderBoats(s.boats || {});
    renderLists(s);
    renderAlerts(s);
    u.renderFeeds(s);
    renderFill(s);
    const p = u.page();
    p.emDirty = true;
  }

  function renderResponse(r) {
    const { put, tr } = U();
    const ids = U().page().config.ids;
    const sev = r && r.active ? r.sev : 0;
    const level = r && r.active && r.lvl ? ROMAN[r.lvl] || r.lvl : "—";
    put(ids.resp_level, "children", level);
    put(ids.resp_level, "className", `resp-level lv${sev}`);
    put(ids.level_badge, "children", r && r.active ? r.nm || tr("em_level", { x: level }) : "");
    put(ids.level_badge, "className", `level-badge lv${sev}`);
    if (!r) {
      put(ids.resp_name, "children", tr("em_no_response"));
      put(ids.resp_since, "children", "");
      put(ids.resp_peak, "children", "");
      return;
    }
    put(ids.resp_name, "children", r.active ? r.nm || "" : `${r.nm || tr("em_response")} · ${tr("em_stood_down")}`);
    put(ids.resp_since, "children", `${tr("em_since")} ${md(r.since)}` + (r.act ? ` · ${r.act}` : ""));
    put(ids.resp_peak, "children", r.peak ? `${tr("em_peak")} ${tr("em_level", { x: ROMAN[r.peak] || r.peak })} · ${md(r.episode_start)}` : "");
    renderHistory(r.history || []);
  }

  // the levels of the last days as one strip: a segment per level held, as wide as it lasted
  function renderHistory(h) {
    const u = U();
    const p = u.page();
    const ids = p.config.ids;
    if (!h.length) return;
    const now = u.dataNow() / 1000;
    const start = h[0][0];
    const span = Math.max(1, now - start);
    const segs = h.map((e, i) => {
      const end = i + 1 < h.length ? h[i + 1][0] : now;
      const width = (100 * Math.max(0, end - e[0])) / span;
      return { type: "Span", namespace: "dash_html_components",
        props: { className: `seg lv${e[1]}`, style: { width: `${width.toFixed(2)}%` }, title: `${md(e[0])} ${e[2] || ""}` } };
    });
    const key = JSON.stringify(h) + Math.floor(now / 600); // widths move with the clock: every 10 minutes
    if (p.historyKey !== key) {
      p.historyKey = key;
      window.dash_clientside.set_props(ids.resp_history, { children: segs });
    }
    u.put(ids.resp_from, "children", md(start));
    u.put(ids.resp_to, "children", md(now));
  }

  function renderStormChip(st) {
    const { put, tr } = U();
    const ids = U().page().config.ids;
    if (!st) {
      put(ids.storm_chip, "children", tr("em_no_storm"));
      put(ids.storm_chip, "className", "storm-chip none");
      put(ids.storm_info, "children", tr("em_no_storm"));
      return;
    }
    const l = st.latest;
    const c = cat(l.cat);
    const name = en() ? `${st.en || st.zh} (${st.id})` : `${st.id.slice(-4)} 号 ${c[1]}「${st.zh || st.en}」`;
    put(ids.storm_chip, "children", name);
    put(ids.storm_chip, "className", `storm-chip cat${l.cat}` + (st.near ? " near" : ""));
    const lines = [
      `${en() ? (st.en || st.zh) : st.zh || st.en} · ${c[en() ? 2 : 1]}`,
      tr("em_storm_at", { t: md(l.t), lat: l.lat, lon: l.lon }),
      tr("em_wind", { pw: l.pw == null ? "—" : l.pw, w: l.w == null ? "—" : l.w, p: l.p == null ? "—" : l.p }),
      l.dir && l.spd ? tr("em_move", { spd: l.spd, dir: l.dir }) : "",
      st.near ? `${tr("em_dist_now")} ${st.km} ${tr("em_km")}` : tr("em_far", { km: st.km }),
      ...(st.landfall || []).map((x) => `${tr("em_landfall")} ${md(x[0])} ${x[3]}`),
    ].filter(Boolean);
    put(ids.storm_info, "children", lines.join("\n"));
  }

  function renderDistricts(s) {
    const { put, tr } = U();
    const ids = U().page().config.ids;
    const byCode = Object.fromEntries((s.districts || []).map((d) => [d.code, d]));
    const warns = {};
    for (const w of s.warnings || []) for (const d of w.districts) (warns[d] = warns[d] || []).push(w);
    for (const [code, slots] of Object.entries(ids.warn)) {
      const mine = (warns[code] || []).slice().sort((a, b) => b.rank - a.rank);
      slots.forEach((id, i) => {
        const w = mine[i];
        put(id, "children", w ? `${w.hz}${colourName(w.c)}` : i === 0 ? tr("em_no_warning") : "");
        put(id, "className", w ? `chip c${w.rank}` : "chip none");
        put(id, "title", w ? `${w.hl || ""} · ${md(w.from)} → ${md(w.exp)}` : "");
      });
      const d = byCode[code] || {};
      const cell = ids.district[code];
      const top = mine[0];
      put(cell.issued, "children", top ? `${hm(top.t)}–${hm(top.exp)}` : "");
      const storm = !!s.storm;
      put(cell.km, "children", storm && d.km != null ? `${U().fmt(d.km)}` : "—");
      put(cell.closest, "children", !storm || d.closest_km == null ? "—" : d.passed ? tr("em_passed") : U().fmt(d.closest_km));
      put(cell.closest, "title", storm && d.closest_at ? dhm(d.closest_at) : "");
      put(cell.r7, "children", eta(d, "r7"));
      put(cell.r7, "className", "c-r7" + (d.inside_r7 ? " lit" : ""));
      put(cell.r10, "children", eta(d, "r10"));
    }
  }

  function eta(d, ring) {
    const t = d[`eta_${ring}`];
    if (t == null) return "—";
    const latest = U().page().snap.storm && U().page().snap.storm.latest.t;
    return t <= latest ? U().tr("em_inside") : dhm(t);
  }

  function renderGauges(g) {
    const { put, tr, fmt } = U();
    const ids = U().page().config.ids;
    put(ids.gauges_count, "children", `${fmt(g.over || 0)} / ${fmt(g.stations || 0)}`);
    const items = g.items || [];
    ids.gauge.forEach((id, i) => {
      const x = items[i];
      if (!x) {
        put(id, "children", i === 0 && !items.length ? tr("em_gauges_none") : "");
        put(id, "className", "slot");
        return;
      }
      const name = x.nm || x.id;
      const text = x.tp === "PP"
        ? `${name} · ${tr("em_rain")} ${x.drp ?? "—"} mm/10min · 08时起 ${x.dyp ?? "—"} mm`
        : `${name} · ${x.z ?? "—"} m (${x.warn === "2" ? tr("em_guarantee") : tr("em_over")} ${x.over == null ? "—" : "+" + x.over.toFixed(2)} m)`;
      put(id, "children", text);
      put(id, "className", `slot warn${x.warn}`);
    });
  }

  function renderIncidents(inc) {
    const u = U();
    const p = u.page();
    const ids = p.config.ids;
    const label = inc.episode ? u.tr("em_window_episode", { t: md(inc.from) }) : u.tr("em_window_day");
    u.put(ids.incidents_window, "children", `${label} · ${u.fmt(inc.total || 0)}`);
    const rows = (inc.by_category || []).slice(0, 10).reverse();
    const key = JSON.stringify([rows, p.config.lang]);
    if (p.incKey === key) return;
    p.incKey = key;
    const R = u.rem();
    const names = rows.map((r) => ((p.config.categories[r.cat] || [r.name, r.cat])[en() ? 1 : 0]));
    window.dash_clientside.set_props(ids.incidents, {
      figure: {
        data: [{ type: "bar", orientation: "h", x: rows.map((r) => r.n), y: names, marker: { color: "#3fa7ff" }, text: rows.map((r) => r.n), textposition: "outside", cliponaxis: false }],
        layout: {
          paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", autosize: true, showlegend: false,
          margin: { l: 6 * R, r: 2 * R, t: 0.2 * R, b: 1.2 * R }, font: { color: "#cfe3ff", size: 0.8 * R },
          xaxis: { gridcolor: "rgba(255,255,255,0.1)", rangemode: "tozero" }, yaxis: { automargin: true }, bargap: 0.25,
        },
      },
    });
  }

  function renderMobilisation(m) {
    const { put, fmt, tr } = U();
    const ids = U().page().config.ids;
    const sh = m.shelters || {};
    put(ids.mob.deployed, "children", fmt(m.deployed));
    put(ids.mob.transferred, "children", fmt(m.transferred));
    put(ids.mob.shelters, "children", fmt(sh.opened));
    put(ids.mob.occupancy, "children", `${fmt(sh.occupancy)} / ${fmt(sh.capacity)}`);
    const teams = m.teams || [];
    ids.team.forEach((id, i) => {
      const t = teams[i];
      const bar = ids.team_bar[i];
      if (!t) {
        put(id, "children", "");
        put(bar, "style", { width: "0%" });
        return;
      }
      const total = t.activated + t.available;
      put(id, "children", `${t.type} · ${tr("em_teams_active")} ${fmt(t.activated)} / ${fmt(total)} · ${fmt(t.persons)}${tr("em_persons")}`);
      put(bar, "style", { width: `${total ? Math.round((100 * t.activated) / total) : 0}%` });
    });
  }

  function renderAreas(s) {
    const { put, fmt } = U();
    const p = U().page();
    const ids = p.config.ids;
    const mob = Object.fromEntries(((s.mobilisation || {}).areas || []).map((a) => [a.code, a]));
    const chk = Object.fromEntries(((s.checkins || {}).areas || []).map((a) => [a.code, a]));
    p.gridKeys = p.gridKeys || {};
    for (const [code, cell] of Object.entries(ids.area)) {
      const a = mob[code] || {};
      const c = chk[code];
      put(cell.dep, "children", fmt(a.dep));
      put(cell.tr, "children", fmt(a.tr));
      put(cell.occ, "children", a.occ == null ? "—" : a.cap ? `${fmt(a.occ)}/${fmt(a.cap)}` : fmt(a.occ));
      put(cell.grid, "className", c && c.grids && c.in === c.grids ? "c-grid full" : "c-grid");
      if (c && c.by_grid && s.checkins.since) gridCell(p, cell.grid, c);
      else put(cell.grid, "children", c ? `${fmt(c.in)}/${fmt(c.grids)}` : "—");
    }
  }

  // a town's grids as a row of squares: not yet checked in, or by the people on duty there
  function gridCell(p, id, c) {
    const key = JSON.stringify(c.by_grid);
    if (p.gridKeys[id] === key) return;
    p.gridKeys[id] = key;
    const dots = c.by_grid.map((n) => ({ type: "Span", namespace: "dash_html_components",
      props: { className: n < 0 ? "g missing" : n < 5 ? "g few" : n < 10 ? "g some" : "g many" } }));
    const count = { type: "Span", namespace: "dash_html_components", props: { className: "g-count", children: `${c.in}/${c.grids}` } };
    p.shown[id + "\u0001children"] = undefined; // the text form is no longer on screen
    window.dash_clientside.set_props(id, { children: [{ type: "Span", namespace: "dash_html_components", props: { className: "grid-dots", children: dots } }, count] });
  }

  function renderCheckins(c) {
    const { put, fmt, tr } = U();
    const ids = U().page().config.ids;
    put(ids.checkin_count, "children", c.since ? `${fmt(c.checked_in)} / ${fmt(c.grids)}` : "—");
    put(ids.checkin_duty, "children", c.since ? ` ${tr("em_on_duty")} ${fmt(c.on_duty)}${tr("em_persons")}` : "");
    const missing = c.missing || [];
    // a district's board names the grids still missing; the city's counts them by district (the table)
    const named = U().page().config.scope !== "city" && missing.length;
    put(ids.checkin_missing, "children", !c.missing_n ? "" : `${tr("em_missing")} ${fmt(c.missing_n)}` +
      (named ? `：${missing.join("、")}${c.missing_n > missing.length ? "…" : ""}` : ""));
  }

  function renderBoats(b) {
    const { put, fmt } = U();
    const ids = U().page().config.ids;
    put(ids.boat.in_port, "children", fmt(b.in_port));
    put(ids.boat.at_sea, "children", fmt(b.at_sea));
    put(ids.boat.returning, "children", fmt(b.returning));
  }

  function renderLists(s) {
    const { put, fmt, tr } = U();
    const ids = U().page().config.ids;
    const names = Object.fromEntries((s.districts || []).map((d) => [d.code, d.name]));
    const cl = s.closures || {};
    put(ids.closures_count, "children", `${tr("em_open")} ${fmt(cl.active || 0)} · ${tr("em_done")} ${fmt(cl.lifted || 0)}`);
    slots(ids.closure, cl.items || [], (x) => `${names[x.d] || ""} ${x.type}｜${x.nm}${x.why ? "（" + x.why + "）" : ""} · ${md(x.from)}`, tr("em_closures_none"));
    const tk = s.tasks || {};
    put(ids.tasks_count, "children", `${tr("em_open")} ${fmt(tk.open || 0)} · ${tr("em_done")} ${fmt(tk.done || 0)}`);
    slots(ids.task, tk.items || [], (x) => `${names[x.d] || ""} ${x.task} · ${x.who}${x.due ? " · " + md(x.due) : ""}`, tr("em_tasks_none"));
  }

  function slots(list, items, text, none) {
    const { put } = U();
    list.forEach((id, i) => {
      const x = items[i];
      put(id, "children", x ? text(x) : i === 0 ? none : "");
      put(id, "className", x ? "slot" : "slot empty");
    });
  }

  function renderAlerts(s) {
    const { put, tr, fmt } = U();
    const ids = U().page().config.ids;
    const a = s.alert;
    const items = (a && a.items) || [];
    put(ids.alerts_count, "children", a ? tr("em_unacked", { n: fmt(a.unacked) }) : tr("em_alerts_none"));
    ids.alert_item.forEach((id, i) => {
      const x = items[i];
      if (!x) {
        put(id, "children", i === 0 && !items.length ? tr("em_alerts_none") : "");
        put(id, "className", "slot");
        return;
      }
      const ack = x.ack ? ` · ${tr("em_acked")} ${x.ack.who} ${md(x.ack.at)}` : "";
      put(id, "children", `${x.headline} · ${md(x.since)}${ack}`);
      put(id, "className", "slot " + (x.ack ? "acked" : "unacked"));
    });
    const acks = s.acks || [];
    ids.ack_item.forEach((id, i) => {
      const x = acks[i];
      put(id, "children", x ? `${md(x.at)} ${x.who} · ${x.key.split(":")[0] === "resp" ? tr("em_response") : tr("em_warnings")}${x.comment ? "：" + x.comment : ""}` : "");
    });
  }

  function renderFill(s) {
    const p = U().page();
    const fill = {};
    for (const d of s.districts || []) fill[d.code] = d.rank;
    const hideout = { fill, scope: p.config.scope };
    const key = JSON.stringify(hideout);
    if (p.emFillKey !== key) {
      p.emFillKey = key;
      window.dash_clientside.set_props(p.config.ids.boundaries, { hideout });
    }
  }

  // --- the storm on the map ---------------------------------------------------------------------

  function destination(lat, lon, brg, km) {
    const d = km / 6371, b = (brg * Math.PI) / 180, p1 = (lat * Math.PI) / 180, l1 = (lon * Math.PI) / 180;
    const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
    const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
    return [(p2 * 180) / Math.PI, (((l2 * 180) / Math.PI + 540) % 360) - 180];
  }

  function ring(lat, lon, radii) {
    // the four quadrants' radii (NE, SE, SW, NW) as one outline
    const pts = [];
    for (let q = 0; q < 4; q++) {
      const r = radii[q] || 0;
      for (let a = q * 90; a <= q * 90 + 90; a += 6) pts.push(r ? destination(lat, lon, a, r) : [lat, lon]);
    }
    return pts;
  }

  class StormLayer {
    constructor(map) {
      this.map = map;
      this.group = L.layerGroup().addTo(map);
      this.key = null;
      this.fitKey = null;
      // district names overlap when the view takes in a whole storm: shown from city zoom on
      this.zoomed = () => map.getContainer().classList.toggle("zoom-low", map.getZoom() < 8);
      map.on("zoomend", this.zoomed);
    }
    draw(s) {
      const st = s.storm;
      const marks = [s.gauges && s.gauges.items, s.closures && s.closures.items, s.boats && s.boats.positions];
      const key = JSON.stringify([st && [st.id, st.latest.t, st.track.length, st.forecast.length, st.landfall.length], marks]);
      if (key !== this.key) {
        this.key = key;
        this.group.clearLayers();
        if (st) this.storm(st);
        this.extras(s);
      }
      this.fit(s);
    }
    storm(st) {
      const R = U().rem();
      const tr = st.track;
      for (let i = 1; i < tr.length; i++) {
        L.polyline([[tr[i - 1][1], tr[i - 1][2]], [tr[i][1], tr[i][2]]], { color: cat(tr[i][3])[0], weight: 0.22 * R, opacity: 0.95, interactive: false }).addTo(this.group);
      }
      for (const f of tr) {
        const c = cat(f[3]);
        L.circleMarker([f[1], f[2]], { radius: 0.22 * R, color: "#0b1220", weight: 1, fillColor: c[0], fillOpacity: 1 })
          .bindTooltip(`${md(f[0])} · ${c[en() ? 2 : 1]} · ${f[4] ?? "—"} m/s · ${f[5] ?? "—"} hPa`).addTo(this.group);
      }
      const l = st.latest;
      for (const [name, colour, alpha] of RINGS) {
        if (l[name]) L.polygon(ring(l.lat, l.lon, l[name]), { color: colour, weight: 1.5, fillColor: colour, fillOpacity: alpha, interactive: false }).addTo(this.group);
      }
      if (st.forecast.length) {
        const line = [[l.lat, l.lon], ...st.forecast.map((p) => [p[1], p[2]])];
        L.polyline(line, { color: "#ffffff", weight: 0.14 * R, dashArray: `${0.5 * R} ${0.4 * R}`, opacity: 0.85, interactive: false }).addTo(this.group);
        for (const p of st.forecast) {
          L.circleMarker([p[1], p[2]], { radius: 0.25 * R, color: cat(p[3])[0], weight: 2, fill: false })
            .bindTooltip(`${U().tr("em_forecast")} ${md(p[0])}`).addTo(this.group);
        }
      }
      const px = Math.round(2.6 * R);
      L.marker([l.lat, l.lon], {
        icon: L.divIcon({ className: `storm-eye cat${l.cat}`, html: EYE, iconSize: [px, px] }),
        interactive: false, keyboard: false,
      }).addTo(this.group);
      for (const x of st.landfall || []) {
        L.marker([x[1], x[2]], { icon: L.divIcon({ className: "landfall", html: "<span>▼</span>", iconSize: [R, R] }) })
          .bindTooltip(`${U().tr("em_landfall")} ${md(x[0])} ${x[3]}`, { permanent: true, direction: "right", className: "landfall-label" })
          .addTo(this.group);
      }
    }
    extras(s) {
      const R = U().rem();
      for (const g of (s.gauges && s.gauges.items) || []) {
        if (g.lat == null) continue;
        L.marker([g.lat, g.lon], { icon: L.divIcon({ className: `gauge-mark w${g.warn}`, html: "<span>▲</span>", iconSize: [R, R] }) })
          .bindTooltip(`${g.nm} · ${g.z ?? g.drp ?? ""}`).addTo(this.group);
      }
      for (const c of (s.closures && s.closures.items) || []) {
        if (c.lat == null) continue;
        L.marker([c.lat, c.lon], { icon: L.divIcon({ className: "closure-mark", html: "<span>封</span>", iconSize: [1.3 * R, 1.3 * R] }) })
          .bindTooltip(`${c.type}｜${c.nm}`).addTo(this.group);
      }
      for (const b of (s.boats && s.boats.positions) || []) {
        L.circleMarker([b[0], b[1]], { radius: 0.2 * R, color: b[2] === "返港" ? "#ffd36f" : "#6fe3ff", weight: 1, fillOpacity: 0.9, interactive: false }).addTo(this.group);
      }
    }
    fit(s) {
      // the city and, while a storm concerns it, the storm and the day ahead of it; refitted when the
      // storm changes or every few hours of its track, not every second (a wall nobody pans)
      const st = s.storm;
      const near = st && st.near;
      const key = JSON.stringify([st && st.id, near, st && Math.floor(st.latest.t / REFIT_S)]);
      if (key === this.fitKey) return;
      this.fitKey = key;
      const b = L.latLngBounds(U().page().config.bounds);
      if (st && st.km < 2000) {
        const l = st.latest;
        b.extend([l.lat, l.lon]);
        if (l.r7) for (let q = 0; q < 4; q++) b.extend(destination(l.lat, l.lon, q * 90 + 45, l.r7[q] || 0));
        for (const p of st.forecast.slice(0, 2)) b.extend([p[1], p[2]]);
      }
      this.map.invalidateSize({ animate: false }); // the panel may have been laid out after the map
      this.map.fitBounds(b, { padding: [16, 16], animate: false });
      this.zoomed();
    }
    destroy() {
      this.map.off("zoomend", this.zoomed);
      this.group.remove();
    }
  }

  function tick() {
    const p = U().page();
    const map = NS.leafletMap;
    if (!p.emDirty || !p.snap || !map || !map.getContainer().isConnected) return;
    p.emDirty = false;
    if (!p.storm || p.storm.map !== map) {
      if (p.storm) p.storm.destroy();
      p.storm = new StormLayer(map);
    }
    p.storm.draw(p.snap);
  }

  NS.em = {
    boundaryStyle(feature, ctx) {
      const h = (ctx && ctx.hideout) || {};
      const rank = (h.fill || {})[feature.properties.adcode] || 0;
      const mine = h.scope && h.scope !== "city" && feature.properties.adcode === h.scope;
      return {
        color: mine ? "#ffffff" : "#6fb6ff", weight: mine ? 3 : 1.5, opacity: 0.9, fillColor: WARN[rank], fillOpacity: rank ? 0.55 : 0.25,
        className: `district d-${feature.properties.adcode}`, // named, for screen readers' and tests' sake
      };
    },
    regionStyle() {
      return { color: "#35598f", weight: 1, opacity: 0.8, fillColor: "#12223d", fillOpacity: 0.7 };
    },
  };

  NS.boards.emergency = {
    render,
    tick,
    stop(p) {
      if (p.storm) p.storm.destroy();
    },
  };

  // the acknowledgement form: every item not yet acknowledged, by the officer named in the form
  function ack(_n, who, comment) {
    const p = U().page();
    const tr = U().tr;
    if (!p || !p.snap) return "";
    const a = p.snap.alert;
    const keys = ((a && a.items) || []).filter((x) => !x.ack).map((x) => x.key);
    if (!keys.length) return tr("em_alerts_none");
    if (!who || !String(who).trim()) return tr("em_ack_need_who");
    fetch("/api/alerts/ack", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ keys, who, comment: comment || "", scope: p.config.scope }),
    })
      .then((r) => r.json())
      .then((res) => {
        const msg = tr("em_ack_done", { n: (res.acknowledged || []).length }) + ((res.refused || []).length ? ` · ${res.refused.map((x) => x.error).join("；")}` : "");
        window.dash_clientside.set_props(p.config.ids.ack_status, { children: msg });
      })
      .catch((err) => window.dash_clientside.set_props(p.config.ids.ack_status, { children: String(err) }));
    return "…";
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.pingan = Object.assign({}, window.dash_clientside.pingan, { ack });
})();
