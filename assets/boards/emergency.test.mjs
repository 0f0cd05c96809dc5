// assets/boards/emergency.js, the emergency board's renderer, on the snapshots and page configs the
// Python builders wrote (fixtures/emergency.city in Chinese, emergency.district in English): only
// declared ids are set; the response level and its strip, each district's warning chips and storm
// figures, the map's layer, shades and viewport, the red alerts and the acknowledgement log, the
// towns' grid bars; and what dash-leaflet calls (tooltips, layer and boundary styles).
import test from "node:test";
import assert from "node:assert/strict";
import { emergency, format, board, declaredIds, value, props } from "../support.mjs";

const render = emergency.render.emergency;

// --- (a) ids ------------------------------------------------------------------------------------

test("every id the board sets is declared in its page config (city and district)", () => {
  for (const name of ["emergency.city", "emergency.district"]) {
    const { snap, frame, lib } = board(name);
    const declared = declaredIds(frame.ids);
    const out = render(snap, frame, lib);
    assert.ok(out.length > 100, `${name}: a full render (${out.length} updates)`);
    for (const [id, prop] of out) assert.ok(declared.has(id), `${name}: ${id}.${prop} is not in frame.ids`);
  }
});

test("an empty snapshot (nothing going on) still renders, to declared ids only", () => {
  const { snap, frame, lib } = board("emergency.city");
  const quiet = { districts: snap.districts.map((d) => ({ ...d, warnings: [], warning_rank: 0 })), view_bounds: snap.view_bounds, map_layer: { type: "FeatureCollection", features: [] } };
  const out = render(quiet, frame, lib);
  const declared = declaredIds(frame.ids);
  for (const [id, prop] of out) assert.ok(declared.has(id), `${id}.${prop}`);
  assert.equal(value(out, frame.ids.resp_level, "children"), "—");
  assert.equal(value(out, frame.ids.resp_name, "children"), "未启动应急响应");
  assert.deepEqual(props(out, frame.ids.storm_chip), { children: "当前无热带气旋", className: "storm-chip none" });
  assert.equal(value(out, frame.ids.alerts_count, "children"), "无红色告警");
  assert.equal(value(out, frame.ids.alert_item[0], "children"), "无红色告警");
  assert.equal(value(out, frame.ids.gauge[0], "children"), "无站点超警戒");
  assert.equal(value(out, frame.ids.checkin_count, "children"), "—");
});

// --- (b) the response level -----------------------------------------------------------------------

test("response: the level as a Roman numeral, its severity as the class, the badge and the times", () => {
  const { snap, frame, lib } = board("emergency.city");
  assert.equal(snap.response.level, "II");
  const out = render(snap, frame, lib);
  const ids = frame.ids;
  assert.deepEqual(props(out, ids.resp_level), { children: "Ⅱ", className: "resp-level lv3" });
  assert.deepEqual(props(out, ids.level_badge), { children: "防风II级应急响应", className: "level-badge lv3" });
  assert.equal(value(out, ids.resp_name, "children"), "防风II级应急响应");
  assert.equal(value(out, ids.resp_since, "children"), "自 09-15 07:00 · 提升");
  assert.equal(value(out, ids.resp_peak, "children"), "本轮最高 Ⅱ级 · 09-14 14:00");
  assert.equal(value(out, ids.resp_from, "children"), "09-14 14:00");
  assert.equal(value(out, ids.resp_to, "children"), "09-15 10:00");
});

test("response: the level strip, one visible segment per strip entry, the rest hidden", () => {
  const { snap, frame, lib } = board("emergency.city");
  const strip = snap.response.strip;
  assert.equal(strip.length, 2);
  const out = render(snap, frame, lib);
  frame.ids.strip.forEach((id, i) => {
    const seg = strip[i];
    const p = props(out, id);
    if (seg) {
      assert.equal(p.hidden, false, id);
      assert.deepEqual(p.style, { width: `${seg.share_pct}%` });
      assert.equal(p.className, `seg lv${seg.severity}`);
      assert.equal(p.title, `${lib.bj(seg.start, "md")} ${seg.action}`);
    } else {
      assert.deepEqual(p, { hidden: true, className: "seg", style: { width: "0%" }, title: "" }, id);
    }
  });
  assert.deepEqual(value(out, frame.ids.strip[0], "style"), { width: "85%" });
  assert.deepEqual(value(out, frame.ids.strip[1], "style"), { width: "15%" });
  assert.equal(value(out, frame.ids.strip[1], "title"), "09-15 07:00 提升");
});

test("response: stood down, and an unnamed active level", () => {
  const { snap, frame, lib } = board("emergency.city");
  const ids = frame.ids;
  const down = render({ ...snap, response: { ...snap.response, active: false } }, frame, lib);
  assert.deepEqual(props(down, ids.resp_level), { children: "—", className: "resp-level lv0" });
  assert.deepEqual(props(down, ids.level_badge), { children: "", className: "level-badge lv0" });
  assert.equal(value(down, ids.resp_name, "children"), "防风II级应急响应 · 已解除");
  const unnamed = render({ ...snap, response: { ...snap.response, level: "IV", severity: 1, name: null } }, frame, lib);
  assert.equal(value(unnamed, ids.resp_level, "children"), "Ⅳ");
  assert.equal(value(unnamed, ids.level_badge, "children"), "Ⅳ级");
});

// --- (c) the districts --------------------------------------------------------------------------

test("district chips: hazard + colour word, class by colour rank; none for a district without warnings", () => {
  const { snap, frame, lib } = board("emergency.city");
  const out = render(snap, frame, lib);
  const [ts0, ts1, ts2] = frame.ids.chip["440781"]; // 台山: a red typhoon warning
  assert.equal(frame.text["colour.red"], "红");
  assert.deepEqual(props(out, ts0), { children: "台风红", className: "chip c4", title: "440781台风red预警 · 09-15 08:00 → 09-15 14:00" });
  assert.deepEqual(props(out, ts1), { children: "", className: "chip", title: "" });
  assert.deepEqual(props(out, ts2), { children: "", className: "chip", title: "" });
  assert.deepEqual(props(out, frame.ids.chip["440703"][0]), { children: "暴雨蓝", className: "chip c1", title: "440703暴雨blue预警 · 09-15 05:00 → 09-15 11:00" });
  const jh = frame.ids.chip["440704"]; // 江海: no warning
  assert.deepEqual(props(out, jh[0]), { children: frame.text.em_no_warning, className: "chip none", title: "" });
  assert.equal(frame.text.em_no_warning, "无");
  assert.deepEqual(props(out, jh[1]), { children: "", className: "chip", title: "" });
});

test("district chips: several warnings fill the slots in order; English colour words", () => {
  const { snap, frame, lib } = board("emergency.district");
  const ts = snap.districts.find((d) => d.code === "440781");
  ts.warnings.push({ ...ts.warnings[0], hazard: "暴雨", colour: "orange", colour_rank: 3 });
  const out = render(snap, frame, lib);
  const [a, b, c] = frame.ids.chip["440781"];
  assert.deepEqual([value(out, a, "children"), value(out, b, "children"), value(out, c, "children")], ["台风 red", "暴雨 orange", ""]);
  assert.deepEqual([value(out, a, "className"), value(out, b, "className"), value(out, c, "className")], ["chip c4", "chip c3", "chip"]);
  assert.equal(value(out, frame.ids.chip["440704"][0], "children"), "none");
});

test("district chips: a warning of unknown colour shows its hazard alone", () => {
  // the server sends colour null for a colour code it does not know (emergency_board._colour);
  // the word table spells that colour.None, an empty word
  for (const name of ["emergency.city", "emergency.district"]) {
    const { snap, frame, lib } = board(name);
    const ts = snap.districts.find((d) => d.code === "440781");
    ts.warnings = [{ ...ts.warnings[0], colour: null, colour_rank: 0 }];
    const out = render(snap, frame, lib);
    assert.deepEqual([value(out, frame.ids.chip["440781"][0], "children"), value(out, frame.ids.chip["440781"][0], "className")], ["台风", "chip c0"], name);
  }
});

test("district cells: issued–expires, distance and closest approach from the snapshot; force 7 lit when inside", () => {
  const { snap, frame, lib } = board("emergency.city");
  const out = render(snap, frame, lib);
  for (const d of snap.districts) {
    const cell = frame.ids.district[d.code];
    assert.equal(value(out, cell.km, "children"), String(d.distance_km), d.code);
    assert.equal(value(out, cell.closest, "children"), String(d.closest_km), d.code);
    assert.equal(value(out, cell.closest, "title"), lib.bj(d.closest_at, "dhm"), d.code);
    assert.equal(value(out, cell.force7, "className"), d.force7.inside ? "c-force7 lit" : "c-force7", d.code);
  }
  const ts = frame.ids.district["440781"];
  assert.equal(value(out, ts.issued, "children"), "08:00–14:00");
  assert.equal(value(out, ts.km, "children"), "188");
  assert.equal(value(out, ts.closest, "children"), "22");
  assert.equal(value(out, ts.closest, "title"), "15日21:00");
  assert.deepEqual(props(out, ts.force7), { children: "已进入", className: "c-force7 lit" });
  assert.equal(value(out, ts.force10, "children"), "15日13:00");
  assert.equal(value(out, frame.ids.district["440704"].issued, "children"), "");
});

test("district cells: not yet inside, passed, no storm", () => {
  const { snap, frame, lib } = board("emergency.city");
  const ts = snap.districts.find((d) => d.code === "440781");
  ts.force7 = { at: ts.force10.at, inside: false };
  ts.passed = true;
  const jh = snap.districts.find((d) => d.code === "440704");
  Object.assign(jh, { distance_km: null, closest_km: null, closest_at: null, force7: null, force10: { at: null, inside: false } });
  const out = render(snap, frame, lib);
  const cell = frame.ids.district["440781"];
  assert.deepEqual(props(out, cell.force7), { children: "15日13:00", className: "c-force7" });
  assert.equal(value(out, cell.closest, "children"), "已过");
  const none = frame.ids.district["440704"];
  assert.equal(value(out, none.km, "children"), "—");
  assert.equal(value(out, none.closest, "children"), "—");
  assert.equal(value(out, none.closest, "title"), "");
  assert.deepEqual(props(out, none.force7), { children: "—", className: "c-force7" });
  assert.equal(value(out, none.force10, "children"), "—");
});

// --- the storm, gauges, mobilisation ------------------------------------------------------------

test("storm: the chip in each language, and the info lines", () => {
  const zh = board("emergency.city");
  const out = render(zh.snap, zh.frame, zh.lib);
  assert.deepEqual(props(out, zh.frame.ids.storm_chip), { children: "1822 号 台风「山竹」", className: "storm-chip cat4 near" });
  const info = value(out, zh.frame.ids.storm_info, "children").split("\n");
  assert.deepEqual(info, [
    "山竹 · 台风",
    "09-15 10:00 位于 20.8°N 114°E",
    "近中心最大风力 12 级（48 米/秒），中心气压 950 百帕",
    "以每小时 22 公里向西北移动",
    "距离 217 公里",
    "登陆 09-14 04:00 菲律宾吕宋岛",
  ]);
  const en = board("emergency.district");
  assert.equal(value(render(en.snap, en.frame, en.lib), en.frame.ids.storm_chip, "children"), "Mangkhut (201822)");
  en.snap.storm.near = false;
  const far = value(render(en.snap, en.frame, en.lib), en.frame.ids.storm_info, "children");
  assert.ok(far.includes("217 km away, no effect yet"), far);
  assert.equal(value(render(en.snap, en.frame, en.lib), en.frame.ids.storm_chip, "className"), "storm-chip cat4");
});

test("gauges and mobilisation", () => {
  const { snap, frame, lib } = board("emergency.city");
  const out = render(snap, frame, lib);
  const ids = frame.ids;
  assert.equal(value(out, ids.gauges_count, "children"), "1 / 1");
  assert.deepEqual(props(out, ids.gauge[0]), { children: "台城水位站 · 5.2 m (超警 +0.20 m)", className: "slot warning" });
  assert.deepEqual(props(out, ids.gauge[1]), { children: "", className: "slot" });
  assert.equal(value(out, ids.mob.deployed, "children"), "700");
  assert.equal(value(out, ids.mob.occupancy, "children"), "90 / 1,000");
  assert.equal(value(out, ids.team[0], "children"), "党员先锋队 · 已出动 25 / 41 · 480人");
  assert.deepEqual(value(out, ids.team_bar[0], "style"), { width: "61%" }); // 25 of 41
  assert.deepEqual(value(out, ids.team_bar[2], "style"), { width: "0%" });
  assert.equal(value(out, ids.area["440703"].occupancy, "children"), "30/500");
  assert.equal(value(out, ids.area["440704"].deployed, "children"), "—");
  assert.equal(value(out, ids.closure[0], "children"), "台山市 桥梁｜台山大桥（台风） · 09-15 09:40");
  assert.equal(value(out, ids.task[0], "children"), "台山市 渔船回港避风 · 海洋渔业局 · 09-15 12:00");
});

// --- (d) the map --------------------------------------------------------------------------------

test("map: the snapshot's layer, the districts' warning ranks on the boundaries, the viewport", () => {
  const { snap, frame, lib } = board("emergency.city");
  const out = render(snap, frame, lib);
  const ids = frame.ids;
  assert.equal(value(out, ids.layer, "data"), snap.map_layer);
  assert.equal(value(out, ids.layer, "data").features.length, 18);
  assert.deepEqual(value(out, ids.layer, "hideout"), { lang: "zh" });
  assert.deepEqual(value(out, ids.boundaries, "hideout"), {
    rank: { 440703: 1, 440704: 0, 440705: 0, 440781: 4, 440783: 0, 440784: 0, 440785: 0 }, scope: "440700",
  });
  const vp = out.find(([id, prop]) => id === ids.map && prop === "viewport");
  assert.deepEqual(vp[2], { bounds: snap.view_bounds, transition: "fitBounds", options: { animate: false } });  // no zoom animation: a rotating wall may remove the map mid-animation (Leaflet#6775)
  assert.equal(vp[3], JSON.stringify(snap.view_bounds), "the viewport is re-sent only when the bounds change");
  // district names give way while a storm is in view: on the map's panel (the map's own class is fixed)
  assert.equal(value(out, ids.map_panel, "className"), "panel map em-map-panel zoom-low");
  assert.equal(value(render({ ...snap, storm_in_view: false }, frame, lib), ids.map_panel, "className"),
    "panel map em-map-panel");
  // the district's board: its own scope on the same ranks
  const d = board("emergency.district");
  assert.equal(value(render(d.snap, d.frame, d.lib), d.frame.ids.boundaries, "hideout").scope, "440781");
  assert.deepEqual(value(render(d.snap, d.frame, d.lib), d.frame.ids.layer, "hideout"), { lang: "en" });
});

// --- (e) the red alerts -------------------------------------------------------------------------

test("alerts: unacknowledged first and marked; the acknowledged one names the officer", () => {
  const { snap, frame, lib } = board("emergency.city");
  const out = render(snap, frame, lib);
  const ids = frame.ids;
  assert.equal(value(out, ids.alerts_count, "children"), "未确认 1 项");
  assert.deepEqual(props(out, ids.alert_item[0]), { children: "防风II级应急响应 · 09-15 07:00", className: "slot unacked" });
  const acked = props(out, ids.alert_item[1]);
  assert.equal(acked.className, "slot acked");
  assert.ok(acked.children.includes("值班员张三"), acked.children);
  assert.equal(acked.children, "440781台风red预警 · 09-15 08:00 · 已确认 值班员张三 09-15 09:45");
  assert.deepEqual(props(out, ids.alert_item[2]), { children: "", className: "slot" });
});

test("acknowledgement log: when, who, what, and the comment as stored (masked)", () => {
  const { snap, frame, lib } = board("emergency.city");
  const out = render(snap, frame, lib);
  const first = value(out, frame.ids.ack_item[0], "children");
  assert.equal(first, "09-15 09:45 值班员张三 · 预警信号：已通知台山三防办 138****5678");
  assert.ok(!/\d{11}/.test(first), "no full phone number");
  assert.equal(value(out, frame.ids.ack_item[1], "children"), "");
  snap.acknowledgements.unshift({ at: snap.as_of, comment: "", key: "resp:yj:E1:II", who: "李四" });
  const again = render(snap, frame, lib);
  assert.equal(value(again, frame.ids.ack_item[0], "children"), "09-15 10:00 李四 · 应急响应");
  assert.equal(value(again, frame.ids.ack_item[1], "children"), first);
});

// --- (f) the district's board: towns' grids -----------------------------------------------------

test("district (English): a town's grid bars are its grid classes' shares and fill the bar", () => {
  const { snap, frame, lib } = board("emergency.district");
  assert.equal(frame.lang, "en");
  const town = snap.checkins.areas.find((a) => a.code === "440781001");
  const cell = frame.ids.area["440781001"];
  const out = render(snap, frame, lib);
  const widths = {};
  for (const g of ["missing", "few", "some", "many"]) {
    const w = value(out, cell[`grid_${g}`], "style").width;
    assert.equal(w, `${((100 * town.grid_classes[g]) / town.grids).toFixed(1)}%`, g);
    widths[g] = parseFloat(w);
  }
  assert.deepEqual(widths, { missing: 33.3, few: 0, some: 33.3, many: 33.3 });
  // one decimal each: the four shares sum to 100% within their rounding (4 × 0.05)
  const sum = Object.values(widths).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 100) <= 0.2 + 1e-9, `sum ${sum}`);
  assert.deepEqual(props(out, cell.grid), { children: "2/3", className: "g-count" });
  assert.equal(value(out, cell.occupancy, "children"), "60"); // no capacity reported
  // a town that has not reported: a dash and empty bars
  const quiet = frame.ids.area["440781101"];
  assert.equal(value(out, quiet.grid, "children"), "—");
  for (const g of ["missing", "few", "some", "many"]) assert.deepEqual(value(out, quiet[`grid_${g}`], "style"), { width: "0.0%" });
});

test("district: all grids in gives a full count; no check-in round gives no bars", () => {
  const { snap, frame, lib } = board("emergency.district");
  const cell = frame.ids.area["440781001"];
  const town = snap.checkins.areas[0];
  Object.assign(town, { checked_in: 3, grid_classes: { missing: 0, few: 1, some: 1, many: 1 } });
  assert.equal(value(render(snap, frame, lib), cell.grid, "className"), "g-count full");
  snap.checkins.since = null;
  const out = render(snap, frame, lib);
  for (const g of ["missing", "few", "some", "many"]) assert.deepEqual(value(out, cell[`grid_${g}`], "style"), { width: "0.0%" });
  assert.equal(value(out, frame.ids.checkin_count, "children"), "—");
});

test("check-ins: the district's board names the missing grids, the city's only counts them", () => {
  const d = board("emergency.district");
  const out = render(d.snap, d.frame, d.lib);
  assert.equal(value(out, d.frame.ids.checkin_count, "children"), "2 / 3");
  assert.equal(value(out, d.frame.ids.checkin_duty, "children"), " On duty 19 people");
  const named = value(out, d.frame.ids.checkin_missing, "children");
  assert.ok(named.startsWith("Not yet checked in 1"), named);
  assert.ok(named.includes("440781001001-03"), named);
  // more missing than listed: an ellipsis
  d.snap.checkins.missing_count = 5;
  assert.ok(value(render(d.snap, d.frame, d.lib), d.frame.ids.checkin_missing, "children").endsWith("…"));

  const c = board("emergency.city");
  const city = value(render(c.snap, c.frame, c.lib), c.frame.ids.checkin_missing, "children");
  assert.equal(city, "未报到网格 2");
  c.snap.checkins.missing_count = 0;
  assert.equal(value(render(c.snap, c.frame, c.lib), c.frame.ids.checkin_missing, "children"), "");
});

// --- (g) what dash-leaflet calls ----------------------------------------------------------------

function withPage(lib, fn) {
  const saved = globalThis.self;
  globalThis.self = { pingan: { lib: () => lib, format } };
  try {
    fn();
  } finally {
    if (saved === undefined) delete globalThis.self; else globalThis.self = saved;
  }
}

test("tooltipText: a fix, a landfall, a gauge (and the other kinds)", () => {
  const { snap, lib } = board("emergency.city");
  const byKind = (k) => snap.map_layer.features.find((f) => f.properties.kind === k).properties;
  assert.equal(emergency.tooltipText(byKind("fix"), lib), "09-14 22:00 · 台风 · 33 m/s · 950 hPa");
  assert.equal(emergency.tooltipText({ kind: "fix", at: snap.as_of, category: 2, wind_ms: null, pressure_hpa: null }, lib), "09-15 10:00 · 热带风暴 · — m/s · — hPa");
  assert.equal(emergency.tooltipText(byKind("landfall"), lib), "登陆 09-14 04:00 菲律宾吕宋岛");
  assert.equal(emergency.tooltipText(byKind("gauge"), lib), "台城水位站 · 5.2");
  assert.equal(emergency.tooltipText({ ...byKind("gauge"), value: null }, lib), "台城水位站 · —");
  assert.equal(emergency.tooltipText(byKind("forecast-point"), lib), "预报路径 09-15 16:00");
  assert.equal(emergency.tooltipText(byKind("closure"), lib), "桥梁｜台山大桥");
  assert.equal(emergency.tooltipText(byKind("vessel"), lib), "");
  const en = board("emergency.district");
  assert.equal(emergency.tooltipText(byKind("fix"), en.lib), "09-14 22:00 · TY · 33 m/s · 950 hPa");
  assert.equal(emergency.tooltipText(byKind("landfall"), en.lib), "Landfall 09-14 04:00 菲律宾吕宋岛");
});

test("layerStyle: track by category, wind circle by force, forecast dashed; widths in rem", () => {
  const { frame } = board("emergency.city");
  withPage(format.lib(frame, 16), () => {
    assert.deepEqual(emergency.layerStyle({ properties: { kind: "track", category: 4 } }), { className: "storm-track cat4", weight: 3.52, interactive: false });
    assert.deepEqual(emergency.layerStyle({ properties: { kind: "wind-circle", force: 10 } }), { className: "wind-circle f10", weight: 1.5, interactive: false });
    assert.deepEqual(emergency.layerStyle({ properties: { kind: "forecast" } }), { className: "storm-forecast", weight: 2.24, dashArray: "8 6.4", interactive: false });
    assert.deepEqual(emergency.layerStyle({ properties: { kind: "vessel" } }), {});
  });
  withPage(format.lib(frame, 32), () => {
    assert.equal(emergency.layerStyle({ properties: { kind: "track", category: 6 } }).weight, 7.04);
    assert.equal(emergency.layerStyle({ properties: { kind: "track", category: 6 } }).className, "storm-track cat6");
    assert.equal(emergency.layerStyle({ properties: { kind: "wind-circle", force: 7 } }).className, "wind-circle f7");
    assert.equal(emergency.layerStyle({ properties: { kind: "forecast" } }).dashArray, "16 12.8");
  });
  withPage(null, () => { // no page yet: the 16 px default
    assert.equal(emergency.layerStyle({ properties: { kind: "track", category: 1 } }).weight, 3.52);
  });
});

test("boundaryStyle: fill by warning rank (red for 4), the selected district outlined", () => {
  const ctx = { hideout: { rank: { 440781: 4, 440703: 1, 440704: 0 }, scope: "440781" } };
  const ts = emergency.boundaryStyle({ properties: { adcode: "440781" } }, ctx);
  assert.deepEqual(ts, { color: "#ffffff", weight: 3, opacity: 0.9, fillColor: "#e03131", fillOpacity: 0.55, className: "district d-440781" });
  const pj = emergency.boundaryStyle({ properties: { adcode: "440703" } }, ctx);
  assert.equal(pj.fillColor, "#2f7fe8");
  assert.equal(pj.weight, 1.5);
  assert.equal(pj.color, "#6fb6ff");
  const jh = emergency.boundaryStyle({ properties: { adcode: "440704" } }, ctx);
  assert.deepEqual([jh.fillColor, jh.fillOpacity], ["#1d2b45", 0.25]);
  assert.equal(emergency.boundaryStyle({ properties: { adcode: "440785" } }, ctx).fillColor, "#1d2b45"); // not ranked
  assert.equal(emergency.boundaryStyle({ properties: { adcode: "440781" } }, undefined).weight, 1.5);
});

test("regionStyle: the surrounding regions, darker than any district and not interactive-looking", () => {
  const r = emergency.regionStyle();
  const district = emergency.boundaryStyle({ properties: { adcode: "440704" } }, {});
  assert.notEqual(r.fillColor, district.fillColor);
  assert.ok(r.weight < district.weight);
  r.weight = 99; // a fresh object each time: dash-leaflet may keep it
  assert.equal(emergency.regionStyle().weight, 1);
});
