// assets/boards/tablet.js, the leaders' tablet, on the snapshots, case lists and app config the Python
// builders wrote (fixtures/wall.city, wall.district, wall.town, emergency.district, case-list.district,
// case-life, tablet.config): the periods compared, the ranking of the level below, the breadcrumbs an
// account may open, every figure as the snapshot says, hostile text kept as text, the emergency picture.
import test from "node:test";
import assert from "node:assert/strict";
import { tablet, format, fixture } from "../support.mjs";

const DAY = 86400000;
const cfg = fixture("tablet.config");
const lib = format.lib(cfg, 16);
const HOSTILE = "<img src=x";

// the text of the element carrying data-k="key" in an HTML string
function k(html, key) {
  const m = html.match(new RegExp(`data-k="${key.replace(".", "\\.")}">([^<]*)<`));
  if (!m) throw new Error(`no data-k=${key}`);
  return m[1];
}

test("each window is compared with the one before it, as long and as far back as it lasts", () => {
  const s = fixture("wall.city");
  for (const w of cfg.windows) {
    const p = tablet.period(s, w);
    assert.equal(p.start, s.windows[w.key].start);
    assert.equal(p.prevEnd, s.windows[w.key].end - w.days * DAY);
    assert.equal(p.end - p.start, p.prevEnd - p.prevStart);
  }
  assert.deepEqual(cfg.windows.map((w) => [w.key, w.days]), [["today", 1], ["7d", 7], ["30d", 30]]);
  assert.equal(tablet.delta(97.5, 95), 2.5);
  assert.equal(tablet.delta(null, 95), null);
});

test("the level below ranked by closure rate (none last) and by overdue clocks (fewest first)", () => {
  const areas = fixture("wall.city").areas;
  const byClosure = tablet.ranked(areas, "closure");
  const rates = byClosure.map((a) => a.kpis_30d.rates.closure.value);
  const known = rates.filter((v) => v != null);
  assert.deepEqual(known, [...known].sort((a, b) => b - a));
  assert.ok(rates.indexOf(null) === -1 || rates.slice(rates.indexOf(null)).every((v) => v == null), "no rate: last");
  const byOverdue = tablet.ranked(areas, "overdue").map((a) => a.red);
  assert.deepEqual(byOverdue, [...byOverdue].sort((a, b) => a - b));
  assert.equal(byClosure.length, areas.length);
});

test("breadcrumbs: an account opens its own scope and below, never above it", () => {
  const chain = [{ code: "440700", name: "江门市", level: "city" }, { code: "440781", name: "台山市", level: "district" },
                 { code: "440781001", name: "台城街道", level: "town" }];
  assert.deepEqual(tablet.crumbs(chain, "440700", "440700").map((c) => c.open), [true, true, false]);
  assert.deepEqual(tablet.crumbs(chain, "440781", "440700").map((c) => c.open), [false, true, false]);
  const html = tablet.crumbsHtml(tablet.crumbs(chain, "440781", "440700"), lib);
  assert.ok(!html.includes('data-go="440700"') && html.includes('data-go="440781"'));
  assert.ok(html.includes("全市") && html.includes('aria-current="page"'));
});

test("the figures of now are the snapshot's, the SLA lights summed over each policy", () => {
  for (const name of ["wall.city", "wall.district", "wall.town"]) {
    const s = fixture(name);
    const html = tablet.nowHtml(s, lib);
    for (const key of ["open", "urgent_open", "open_incidents", "escalated_open"]) {
      assert.equal(k(html, key), lib.fmt(s.cases[key]), `${name}: ${key}`);
    }
    const whole = s.sla.filter((r) => !r.stage);
    assert.equal(k(html, "red"), lib.fmt(whole.reduce((n, r) => n + r.red, 0)), name);
    assert.equal(k(html, "yellow"), lib.fmt(whole.reduce((n, r) => n + r.yellow, 0)), name);
  }
});

test("KPI tiles: the window's rate, its status and the change against the previous period", () => {
  const s = fixture("wall.district");
  for (const w of cfg.windows) {
    const html = tablet.kpisHtml(s, w, null, cfg, lib);
    for (const kp of cfg.kpis) assert.equal(k(html, `kpi.${kp.key}`), lib.pct(s.kpis[w.key].rates[kp.key].value));
    assert.equal(k(html, "delta.closure"), `${lib.tr("tb_vs_prev")} —`);
  }
  const now = s.kpis["30d"];
  const prev = JSON.parse(JSON.stringify(now));
  const v = now.rates.closure.value;
  prev.rates.closure.value = v == null ? null : v - 2.5;
  const html = tablet.kpisHtml(s, cfg.windows[2], prev, cfg, lib);
  if (v != null) assert.equal(k(html, "delta.closure"), `${lib.tr("tb_vs_prev")} +2.5`);
  assert.ok(html.includes(`${lib.tr("target")} 98.9%`));
});

test("the ranked rows open their place, show the snapshot's figures, and keep hostile names as text", () => {
  const s = fixture("wall.city");
  s.areas[0].name = `${HOSTILE} onerror=1>`;
  const html = tablet.rankHtml(s, "overdue", lib, true);
  assert.ok(!html.includes(HOSTILE) && html.includes("&lt;img src=x"));
  for (const a of s.areas) {
    const row = html.split("<li ").find((r) => r.includes(`data-code="${a.code}"`));
    assert.ok(row.includes(`data-go="${a.code}"`));
    assert.equal(k(row, "red"), lib.fmt(a.red));
    assert.equal(k(row, "open"), lib.fmt(a.open));
  }
  assert.ok(!tablet.rankHtml(s, "overdue", lib, false).includes("data-go"), "nothing below a grid to open");
  assert.ok(tablet.rankHtml({ areas: [] }, "closure", lib, false).includes(lib.tr("tb_no_below")));
});

test("cases: each row opens its case; a case's life shows every clock's outcome and stays text", () => {
  const list = fixture("case-list.district");
  const rows = tablet.caseRowsHtml(list.items, lib);
  assert.equal((rows.match(/data-case=/g) || []).length, list.items.length);
  for (const c of list.items) assert.ok(rows.includes(`data-case="${c.case_id}"`));
  const life = fixture("case-life");
  life.case.summary = HOSTILE;
  const html = tablet.lifeHtml(life, lib);
  assert.ok(!html.includes(HOSTILE));
  assert.equal((html.match(/<tr class="(running|met|missed)"/g) || []).length, life.clocks.length);
  assert.equal((html.match(/<li><time>/g) || []).length, life.steps.length);
});

test("the emergency picture: the response, the warned districts, the storm and the way to the board", () => {
  const em = fixture("emergency.district");
  const html = tablet.emergencyHtml(em, lib, "/board/emergency", "440781");
  assert.ok(html.includes(`${lib.tr("tb_response")} ${em.response.level}`));
  for (const d of em.districts.filter((x) => x.warning_rank > 0)) assert.ok(html.includes(`<b>${d.name}</b>`), d.name);
  assert.ok(html.includes(lib.tr("tb_storm_km", { km: em.storm.distance_km })));
  const here = em.districts.find((d) => d.selected);
  assert.ok(html.includes(`${lib.tr("tb_closest")} ${lib.bj(here.closest_at, "dhm")}`), "the district's closest approach");
  assert.ok(html.includes(lib.tr(here.force7.inside ? "tb_force7_in" : "tb_force7_at")));
  const city = fixture("emergency.city");
  const first = Math.min(...city.districts.map((d) => d.closest_at).filter((x) => x != null));
  assert.equal(tablet.arrival(city.districts).closest, first, "at the city: the first district the storm nears");
  const out = city.districts.map((d) => ({ ...d, force7: { at: d.code === "440783" ? 5 : 9, inside: false } }));
  assert.equal(tablet.arrival(out).force7.at, 5);
  assert.ok(html.includes('href="/board/emergency?scope=440781"'));
  assert.ok(html.includes(`<b>${lib.fmt(em.mobilisation.deployed)}</b>`));
  const calm = { ...em, response: null, storm: null, districts: em.districts.map((d) => ({ ...d, warning_rank: 0 })) };
  assert.equal(tablet.emergencyHtml(calm, lib, "/board/emergency", "440781"), null);
});

test("the banner: offline with the time the data is from, else stale, else none", () => {
  const snap = fixture("wall.city");
  const st = { snap, snapAt: 1000, connected: true, heardAt: 1000, offline: false, staleAfter: 15 };
  assert.equal(tablet.bannerText(st, 2000, lib), "");
  assert.ok(tablet.bannerText({ ...st, offline: true }, 2000, lib).startsWith(`离线 · 数据截至 ${lib.bj(snap.data_as_of, "full")}`));
  assert.ok(tablet.bannerText({ ...st, connected: false }, 5000, lib).startsWith("离线"));
  assert.ok(tablet.bannerText(st, 30000, lib).includes("29"));
});
