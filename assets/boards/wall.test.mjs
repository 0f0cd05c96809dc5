// assets/boards/wall.js, the wall's renderer, on the snapshots and page configs the Python builders
// wrote (fixtures/wall.city, wall.district, wall-map.city): only declared ids are set; KPI tiles,
// SLA rows, area rows, the ticker (hostile text stays text), the map's shades, the trend figure and
// the case map come out as the snapshot says; the popup escapes; the boundaries' style; and the
// Leaflet callbacks (markers, clusters, popups) against a minimal stub of L.
import test from "node:test";
import assert from "node:assert/strict";
import { wall, format, board, fixture, declaredIds, value, props } from "../support.mjs";

const T = 1789437600000; // 2026-09-15 10:00:00 Beijing, the fixtures' instant

// --- (a) ids ------------------------------------------------------------------------------------

test("every id the wall sets is declared in its page config (city and district)", () => {
  for (const name of ["wall.city", "wall.district"]) {
    const { snap, frame, lib } = board(name);
    const declared = declaredIds(frame.ids);
    const markers = fixture("wall-map.city").markers;
    const all = [
      ...wall.render.wall(snap, frame, lib),
      ...wall.render["wall-map"](markers, frame, lib, 1),
      ...wall.init(frame, lib),
    ];
    assert.ok(all.length > 100, `${name}: a full render (${all.length} updates)`);
    for (const [id, prop] of all) assert.ok(declared.has(id), `${name}: ${id}.${prop} is not in frame.ids`);
  }
});

test("every figure slot of the frame gets a value (none is left as the layout drew it)", () => {
  const { snap, frame, lib } = board("wall.city");
  const set = new Set(wall.render.wall(snap, frame, lib).map(([id]) => id));
  const ids = frame.ids;
  const slots = [ids.now, ids.kpi, ids.sla, ids.area, ids.tick, ids.trend, ids.boundaries, ids.legend];
  for (const id of declaredIds(slots)) assert.ok(set.has(id), `${id} is never set`);
});

test("the open-case figures", () => {
  const { snap, frame, lib } = board("wall.city");
  const out = wall.render.wall(snap, frame, lib);
  assert.equal(value(out, frame.ids.now.open, "children"), "9");
  assert.equal(value(out, frame.ids.now.urgent_open, "children"), "2");
  assert.equal(value(out, frame.ids.now.escalated_open, "children"), "0");
  snap.cases.open = 12345;
  delete snap.cases.urgent_open;
  const again = wall.render.wall(snap, frame, lib);
  assert.equal(value(again, frame.ids.now.open, "children"), "12,345");
  assert.equal(value(again, frame.ids.now.urgent_open, "children"), "—");
});

// --- (b) KPI tiles ------------------------------------------------------------------------------

test("KPI tiles: the 30-day rate with toFixed(1), the status as the tile's class, today's rate with %", () => {
  const { snap, frame, lib } = board("wall.city");
  const out = wall.render.wall(snap, frame, lib);
  const month = snap.kpis["30d"].rates;
  const today = snap.kpis.today.rates;
  for (const [k, id] of Object.entries(frame.ids.kpi)) {
    assert.equal(value(out, id.value, "children"), month[k].value.toFixed(1), k);
    assert.equal(value(out, id.tile, "className"), `kpi-tile ${month[k].status}`, k);
    assert.equal(value(out, id.today, "children"), `${today[k].value.toFixed(1)}%`, k);
  }
  // the fixture's figures, spelt out
  assert.equal(value(out, frame.ids.kpi.closure.value, "children"), "10.0");
  assert.equal(value(out, frame.ids.kpi.response.value, "children"), "28.6"); // 28.57
  assert.equal(value(out, frame.ids.kpi.closure.tile, "className"), "kpi-tile bad");
  assert.equal(value(out, frame.ids.kpi.satisfaction.tile, "className"), "kpi-tile ok");
  assert.equal(value(out, frame.ids.kpi.closure.today, "children"), "20.0%");
});

test("KPI tiles: status none is no class; no value is a dash (no %)", () => {
  const { snap, frame, lib } = board("wall.city");
  snap.kpis["30d"].rates.closure = { status: "none", value: null };
  snap.kpis.today.rates.closure = { status: "none", value: null };
  snap.kpis["30d"].rates.response = { status: "warn", value: 98.25 };
  delete snap.kpis["30d"].rates.satisfaction;
  const out = wall.render.wall(snap, frame, lib);
  const kpi = frame.ids.kpi;
  assert.deepEqual(props(out, kpi.closure.tile), { className: "kpi-tile " });
  assert.equal(value(out, kpi.closure.value, "children"), "—");
  assert.equal(value(out, kpi.closure.today, "children"), "—");
  assert.equal(value(out, kpi.response.value, "children"), "98.3");
  assert.equal(value(out, kpi.response.tile, "className"), "kpi-tile warn");
  assert.equal(value(out, kpi.satisfaction.tile, "className"), "kpi-tile ");
  assert.equal(value(out, kpi.satisfaction.value, "children"), "—");
});

// --- (c) SLA rows -------------------------------------------------------------------------------

test("SLA rows: each cell is the snapshot's figure; red and yellow are lit only when above 0", () => {
  const { snap, frame, lib } = board("wall.city");
  snap.sla.find((r) => r.row === "fire").yellow = 3; // the fixture has no yellow clock
  const out = wall.render.wall(snap, frame, lib);
  let lit = 0;
  for (const r of snap.sla) {
    const id = frame.ids.sla[r.row];
    assert.ok(id, `row ${r.row} has cells`);
    assert.equal(value(out, id.red, "children"), String(r.red), r.row);
    assert.equal(value(out, id.yellow, "children"), String(r.yellow), r.row);
    assert.equal(value(out, id.due_within_1h, "children"), String(r.due_within_1h), r.row);
    assert.equal(value(out, id.running, "children"), String(r.running), r.row);
    assert.equal(value(out, id.red, "className"), r.red > 0 ? "c-red lit" : "c-red", r.row);
    assert.equal(value(out, id.yellow, "className"), r.yellow > 0 ? "c-yellow lit" : "c-yellow", r.row);
    lit += r.red > 0;
  }
  assert.equal(lit, 3, "the fixture has three rows with red clocks");
  assert.equal(value(out, frame.ids.sla.grid.red, "children"), "4");
  assert.equal(value(out, frame.ids.sla.grid.red, "className"), "c-red lit");
  assert.equal(value(out, frame.ids.sla.fire.yellow, "className"), "c-yellow lit");
  assert.equal(value(out, frame.ids.sla.traffic.red, "className"), "c-red");
});

test("SLA rows: a row the snapshot lacks shows zeros, unlit", () => {
  const { snap, frame, lib } = board("wall.city");
  snap.sla = snap.sla.filter((r) => r.row !== "police");
  const out = wall.render.wall(snap, frame, lib);
  const id = frame.ids.sla.police;
  assert.deepEqual(props(out, id.red), { children: "0", className: "c-red" });
  assert.equal(value(out, id.running, "children"), "0");
});

// --- area rows ----------------------------------------------------------------------------------

test("area rows (city): each district's figures; closure with %, a dash when no rate", () => {
  const { snap, frame, lib } = board("wall.city");
  const out = wall.render.wall(snap, frame, lib);
  for (const a of snap.areas) {
    const id = frame.ids.area[a.code];
    for (const k of ["open", "received_today", "handled_today", "red", "yellow"]) assert.equal(value(out, id[k], "children"), String(a[k]), `${a.code} ${k}`);
    assert.equal(value(out, id.red, "className"), a.red ? "c-red lit" : "c-red");
  }
  const pj = frame.ids.area["440703"];
  assert.equal(value(out, pj.closure_30d, "children"), "0.0%");
  assert.equal(value(out, frame.ids.area["440781"].closure_30d, "children"), "16.7%");
  assert.equal(value(out, frame.ids.area["440704"].closure_30d, "children"), "—");
});

// --- (d) the ticker -----------------------------------------------------------------------------

test("ticker: the items' text in order, hostile text as plain text, empty slots after the last", () => {
  const { snap, frame, lib } = board("wall.city");
  const out = wall.render.wall(snap, frame, lib);
  const slots = frame.ids.tick;
  assert.equal(snap.ticker.length, 3);
  assert.ok(slots.length > snap.ticker.length);
  snap.ticker.forEach((it, i) => {
    const text = value(out, slots[i], "children");
    assert.equal(text, `${lib.bj(it.occurred_at, "hm")}  ${it.source_name} · ${lib.category(it.category)} · ${it.summary}`);
  });
  assert.equal(value(out, slots[0], "children"), "09:55  智慧网格员上报 · 社会治安 · 网格员上报：街头斗殴");
  assert.equal(value(out, slots[2], "children"), "09:40  公安110指挥中心 · 抢险救援 · 台山海边有人被困");
  // the hostile summary: set as text (Dash renders children strings as text), so never escaped here
  const hostile = value(out, slots[1], "children");
  assert.equal(typeof hostile, "string");
  assert.ok(hostile.includes('<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'), hostile);
  assert.ok(!hostile.includes("&lt;"));
  for (const id of slots.slice(snap.ticker.length)) assert.deepEqual(props(out, id), { children: "", className: "tick" });
});

test("ticker: class by priority, and new when the item is fresh", () => {
  const { snap, frame, lib } = board("wall.city");
  const out = wall.render.wall(snap, frame, lib);
  const slots = frame.ids.tick;
  assert.equal(value(out, slots[0], "className"), "tick p2 new"); // priority 2, fresh
  assert.equal(value(out, slots[1], "className"), "tick p1");
  assert.equal(value(out, slots[2], "className"), "tick p1");
  snap.ticker[0].fresh = false;
  snap.ticker[2].fresh = true;
  const again = wall.render.wall(snap, frame, lib);
  assert.equal(value(again, slots[0], "className"), "tick p2");
  assert.equal(value(again, slots[2], "className"), "tick p1 new");
  snap.ticker = [];
  const empty = wall.render.wall(snap, frame, lib);
  for (const id of slots) assert.deepEqual(props(empty, id), { children: "", className: "tick" });
});

// --- (e) the map's shades -----------------------------------------------------------------------

test("boundaries (city): shaded by open cases per district, with the scope", () => {
  const { snap, frame, lib } = board("wall.city");
  const out = wall.render.wall(snap, frame, lib);
  const expected = Object.fromEntries(snap.areas.map((a) => [a.code, a.shade_by_open]));
  assert.deepEqual(value(out, frame.ids.boundaries, "hideout"), { shade: expected, scope: "440700" });
  assert.equal(expected["440703"], 2);
  assert.equal(value(out, frame.ids.legend, "children"), "按在办量着色");
});

test("boundaries (city, ?choropleth=risk): shaded by overdue risk instead", () => {
  const { snap, frame, lib } = board("wall.city");
  // make the two shadings differ, so the test tells which one was used
  snap.areas.forEach((a, i) => { a.shade_by_open = 0; a.shade_by_risk = i % 3; });
  const risk = { ...frame, choropleth: "risk" };
  const out = wall.render.wall(snap, risk, format.lib(risk, 16));
  const expected = Object.fromEntries(snap.areas.map((a, i) => [a.code, i % 3]));
  assert.deepEqual(value(out, frame.ids.boundaries, "hideout"), { shade: expected, scope: "440700" });
  assert.equal(value(out, frame.ids.legend, "children"), "按超时风险着色");
  // and the default frame on the same snapshot still shades by open cases
  const open = value(wall.render.wall(snap, frame, lib), frame.ids.boundaries, "hideout");
  assert.ok(Object.values(open.shade).every((x) => x === 0));
});

test("boundaries (district): no shades, the district as the scope", () => {
  const { snap, frame, lib } = board("wall.district");
  assert.equal(frame.scope_level, "district");
  const out = wall.render.wall(snap, frame, lib);
  assert.deepEqual(value(out, frame.ids.boundaries, "hideout"), { shade: {}, scope: "440781" });
});

test("boundaryStyle: the shade's colour, the board's own district outlined", () => {
  const ctx = { hideout: { shade: { 440703: 2, 440704: 0 }, scope: "440703" } };
  const pj = wall.boundaryStyle({ properties: { adcode: "440703" } }, ctx);
  assert.deepEqual(pj, { color: "#ffffff", weight: 3, opacity: 0.9, fillColor: "#9b1c1f", fillOpacity: 0.45, className: "district d-440703" });
  const jh = wall.boundaryStyle({ properties: { adcode: "440704" } }, ctx);
  assert.equal(jh.fillColor, "#1f6f4a"); // shade 0 is a colour, not "no shade"
  assert.equal(jh.fillOpacity, 0.45);
  assert.equal(jh.weight, 1.5);
  assert.equal(jh.color, "#6fb6ff");
  const none = wall.boundaryStyle({ properties: { adcode: "440705" } }, ctx);
  assert.equal(none.fillColor, "#1d2b45");
  assert.equal(none.fillOpacity, 0.25);
  assert.equal(wall.boundaryStyle({ properties: { adcode: "440705" } }, undefined).fillColor, "#1d2b45");
});

// --- (f) the trend ------------------------------------------------------------------------------

test("trend: the snapshot's figure in the page's language, scaled to the screen", () => {
  const { snap, frame } = board("wall.city");
  const trend = snap.charts.trend.zh;
  const at32 = format.lib(frame, 32);
  const out = wall.render.wall(snap, frame, at32);
  const fig = value(out, frame.ids.trend, "figure");
  assert.deepEqual(fig, format.scaleFigure(trend, 32));
  assert.equal(fig.layout.font.size, trend.layout.font.size * 2);
  assert.equal(fig.data[1].line.width, trend.data[1].line.width * 2);
  fig.data.forEach((tr, i) => {
    assert.deepEqual(tr.x, trend.data[i].x);
    assert.deepEqual(tr.y, trend.data[i].y);
    assert.equal(tr.name, trend.data[i].name);
  });
  assert.equal(fig.data[0].name, "今日");
  // the change key: the figure and the rem (a resize redraws, an equal figure does not)
  const update = out.find(([id, prop]) => id === frame.ids.trend && prop === "figure");
  assert.equal(update[3], JSON.stringify([trend, 32]));
  // English page: the English figure
  const en = { ...frame, lang: "en" };
  const enFig = value(wall.render.wall(snap, en, format.lib(en, 16)), frame.ids.trend, "figure");
  assert.equal(enFig.data[0].name, snap.charts.trend.en.data[0].name);
  assert.equal(enFig.data[0].name, "today");
  // no chart: the trend is not touched
  delete snap.charts.trend;
  assert.ok(!wall.render.wall(snap, frame, at32).some(([id]) => id === frame.ids.trend));
});

// --- (g) the case map ---------------------------------------------------------------------------

test("wall-map: one FeatureCollection of exactly the markers given, keyed by the draw count", () => {
  const { frame, lib } = board("wall.city");
  const markers = fixture("wall-map.city").markers;
  const out = wall.render["wall-map"](markers, frame, lib, 7);
  assert.equal(out.length, 1);
  const [id, prop, data, key] = out[0];
  assert.equal(id, "wall-markers");
  assert.equal(id, frame.ids.markers);
  assert.equal(prop, "data");
  assert.equal(data.type, "FeatureCollection");
  assert.deepEqual(data.features.map((f) => f.id), ["110:P1", "110:P2", "12345:A1", "12345:A2"]);
  assert.deepEqual(data.features, markers);
  assert.equal(key, "draw:7");
  assert.deepEqual(wall.render["wall-map"]([], frame, lib, 8)[0][2], { type: "FeatureCollection", features: [] });
});

test("init: clusters 5 rem wide on every screen", () => {
  const { frame } = board("wall.city");
  assert.deepEqual(wall.init(frame, format.lib(frame, 16)), [["wall-markers", "superClusterOptions", { radius: 80, maxZoom: 15 }]]);
  assert.equal(wall.init(frame, format.lib(frame, 32))[0][2].radius, 160);
  assert.equal(wall.init(frame, format.lib(frame, 16.5))[0][2].radius, 83);
});

// --- (h) the popup ------------------------------------------------------------------------------

test("popupHtml: category and status words, times, sources; the case's text escaped", () => {
  const { frame, lib } = board("wall.city");
  const p = fixture("wall-map.city").markers.find((m) => m.id === "110:P1").properties;
  const html = wall.popupHtml(p, lib);
  assert.ok(html.includes("&lt;script&gt;window.__xss=2&lt;/script&gt;"), html);
  assert.ok(html.includes("&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;"), html);
  assert.ok(!html.includes("<script") && !html.includes("<img"), html);
  assert.ok(html.includes(`<div class="pop-title">治安警情 · ${frame.text["status.reported"]}</div>`), html);
  assert.equal(frame.text["status.reported"], "已上报");
  assert.ok(html.includes("上报 2026-09-15 09:50:00"), html);
  assert.ok(html.includes("时限 2026-09-15 09:53:00"), html);
  assert.ok(html.includes("来源 110 / wg"), html);
});

test("popupHtml: one source when the case has no list, no deadline line without one; English words", () => {
  const en = { ...board("wall.city").frame, lang: "en", text: { ...board("wall.city").frame.text, "status.accepted": "accepted", sources: "Sources" } };
  const lib = format.lib(en, 16);
  const p = { category: "fire", status: "accepted", summary: "A & B", reported_at: T, deadline: null, source: "119" };
  const html = wall.popupHtml(p, lib);
  assert.ok(html.includes('<div class="pop-title">fire · accepted</div>'), html);
  assert.ok(html.includes('<div class="pop-sum">A &amp; B</div>'), html);
  assert.ok(html.includes("Sources 119"), html);
  assert.ok(!html.includes(en.text.due), html);
  assert.equal((html.match(/pop-meta/g) || []).length, 2);
});

// --- (i) the district's wall: towns -------------------------------------------------------------

test("wall.district: town rows (9-digit codes) with their figures", () => {
  const { snap, frame, lib } = board("wall.district");
  const codes = Object.keys(frame.ids.area);
  assert.ok(codes.length > 1);
  for (const code of codes) assert.match(code, /^440781\d{3}$/);
  assert.deepEqual(codes.sort(), snap.areas.map((a) => a.code).sort());
  const out = wall.render.wall(snap, frame, lib);
  for (const a of snap.areas) {
    const id = frame.ids.area[a.code];
    assert.equal(value(out, id.open, "children"), String(a.open), a.code);
    assert.equal(value(out, id.red, "children"), String(a.red), a.code);
    assert.equal(value(out, id.received_today, "children"), String(a.received_today), a.code);
  }
  const tc = frame.ids.area["440781001"]; // 台城街道
  assert.deepEqual(props(out, tc.red), { children: "3", className: "c-red lit" });
  assert.equal(value(out, tc.open, "children"), "3");
  assert.equal(value(out, tc.closure_30d, "children"), "0.0%");
  assert.equal(value(out, frame.ids.area["440781101"].closure_30d, "children"), "—");
  // the district's own KPI figures, not the city's
  assert.equal(value(out, frame.ids.kpi.closure.value, "children"), "16.7");
  assert.equal(value(out, frame.ids.kpi.closure.today, "children"), "50.0%");
});

// --- the Leaflet callbacks, with a minimal stub of L ----------------------------------------------

function withLeaflet(lib, fn) {
  const saved = { L: globalThis.L, self: globalThis.self };
  globalThis.L = {
    marker: (latlng, opts) => ({ type: "marker", latlng, ...opts }),
    circleMarker: (latlng, opts) => ({ type: "circleMarker", latlng, ...opts }),
    divIcon: (opts) => ({ divIcon: opts }),
    point: (x, y) => ({ x, y }),
  };
  globalThis.self = { pingan: { lib: () => lib, format } };
  try {
    fn();
  } finally {
    for (const k of ["L", "self"]) if (saved[k] === undefined) delete globalThis[k]; else globalThis[k] = saved[k];
  }
}

test("caseMarker: a dot by priority at the screen's rem, a pulsing icon when fresh", () => {
  const { frame } = board("wall.city");
  const ll = [22.58, 113.09];
  withLeaflet(format.lib(frame, 32), () => {
    const urgent = wall.caseMarker({ properties: { priority: 1, light: "red", fresh: false } }, ll);
    assert.equal(urgent.type, "circleMarker");
    assert.equal(urgent.radius, 16);
    assert.equal(urgent.className, "case-marker l-red");
    assert.equal(urgent.latlng, ll);
    assert.equal(wall.caseMarker({ properties: { priority: 3, light: "green" } }, ll).radius, 12);
    const fresh = wall.caseMarker({ properties: { priority: 2, light: "yellow", fresh: true } }, ll);
    assert.equal(fresh.type, "marker");
    assert.deepEqual(fresh.icon.divIcon, { className: "fresh-marker l-yellow", html: "<span></span>", iconSize: [45, 45] });
  });
  withLeaflet(null, () => { // no page yet: a 16 px default
    assert.equal(wall.caseMarker({ properties: { priority: 1, light: "red" } }, ll).radius, 8);
  });
});

test("caseCluster: size class by count, icon 2.75 rem", () => {
  const { frame } = board("wall.city");
  withLeaflet(format.lib(frame, 16), () => {
    const c = (n) => wall.caseCluster({ properties: { cluster: true, point_count: n } }, [0, 0]).icon.divIcon;
    assert.equal(c(9).className, "pingan-cluster cl-s");
    assert.equal(c(10).className, "pingan-cluster cl-m");
    assert.equal(c(99).className, "pingan-cluster cl-m");
    assert.equal(c(100).className, "pingan-cluster cl-l");
    assert.equal(c(42).html, "<div><span>42</span></div>");
    assert.deepEqual(c(42).iconSize, { x: 44, y: 44 });
  });
});

test("casePopup: a case gets the escaped popup from the page's lib; a cluster gets none", () => {
  const { frame } = board("wall.city");
  const lib = format.lib(frame, 16);
  const feature = fixture("wall-map.city").markers.find((m) => m.id === "110:P1");
  withLeaflet(lib, () => {
    const bound = [];
    const layer = { bindPopup: (content, opts) => bound.push([content, opts]) };
    wall.casePopup(feature, layer);
    assert.equal(bound.length, 1);
    const [content, opts] = bound[0];
    assert.equal(content(), wall.popupHtml(feature.properties, lib));
    assert.ok(!content().includes("<script"));
    assert.equal(opts.className, "case-popup");
    wall.casePopup({ properties: { cluster: true, point_count: 3 } }, layer);
    assert.equal(bound.length, 1);
  });
});

test("the city is fitted into the map once (a key that never changes: an operator's pan stays)", () => {
  const { snap, frame, lib } = board("wall.city");
  const fits = wall.render.wall(snap, frame, lib).filter((u) => u[0] === frame.ids.map && u[1] === "viewport");
  assert.equal(fits.length, 1);
  assert.deepEqual(fits[0][2], { bounds: frame.bounds, transition: "fitBounds", options: { animate: false } });
  assert.equal(fits[0][3], "fitted");
});
