// assets/format.js: Beijing time of epoch ms, numbers and percentages as the boards show them,
// HTML escaping, the page's words with {placeholders}, a Plotly figure scaled to the screen's rem,
// and the lib object every renderer receives.
import test from "node:test";
import assert from "node:assert/strict";
import { format } from "./support.mjs";

const { bj, fmt, pct, esc, words, scaleFigure, lib } = format;
const T = 1789437600000; // 2026-09-15 10:00:00 Beijing (02:00 UTC), the fixtures' instant

test("bj: every part in Beijing time, whatever the machine's zone", () => {
  assert.equal(bj(T, "full"), "2026-09-15 10:00:00");
  assert.equal(bj(T), "2026-09-15 10:00:00"); // full is the default
  assert.equal(bj(T, "time"), "10:00:00");
  assert.equal(bj(T, "hm"), "10:00");
  assert.equal(bj(T, "md"), "09-15 10:00");
  assert.equal(bj(T, "dhm"), "15日10:00");
  assert.equal(bj(T, "dhm", "zh"), "15日10:00");
  assert.equal(bj(T, "dhm", "en"), "15 10:00");
  assert.equal(bj(T + 4321, "time"), "10:00:04");
});

test("bj: midnight is 00, not 24; the date rolls over in Beijing, not in UTC", () => {
  const midnight = 1789401600000; // 2026-09-15 00:00 Beijing = 2026-09-14 16:00 UTC
  assert.equal(bj(midnight, "full"), "2026-09-15 00:00:00");
  assert.equal(bj(midnight - 1000, "full"), "2026-09-14 23:59:59");
  assert.equal(bj(T - 30 * 3600 * 1000, "md"), "09-14 04:00");
});

test("bj: no time is a dash", () => {
  assert.equal(bj(null, "full"), "—");
  assert.equal(bj(undefined, "hm"), "—");
});

test("pct: one decimal exactly as Number.prototype.toFixed(1) rounds", () => {
  assert.equal(pct(28.57), "28.6");
  assert.equal(pct(16.67), "16.7");
  assert.equal(pct(100), "100.0");
  assert.equal(pct(0), "0.0");
  // toFixed rounds the double's exact value, ties away from zero: not Python's round-half-even
  assert.equal(pct(98.25), "98.3"); // 98.25 is exact: a tie, rounded up
  assert.equal(pct(2.25), "2.3"); // Python's round(2.25, 1) gives 2.2
  assert.equal(pct(1.45), "1.4"); // 1.45 is 1.4499999… as a double
  assert.equal(pct(0.05), "0.1"); // 0.05 is 0.05000000000000000277…
  assert.equal(pct("12.34"), "12.3"); // a number as text still formats
  assert.equal(pct(null), "—");
  assert.equal(pct(undefined), "—");
});

test("fmt: thousands separators, decimals kept, nothing is a dash", () => {
  assert.equal(fmt(1234567), "1,234,567");
  assert.equal(fmt(-5000), "-5,000");
  assert.equal(fmt(999), "999");
  assert.equal(fmt(0), "0"); // zero is a figure, not a missing one
  assert.equal(fmt(1234.5), "1,234.5");
  assert.equal(fmt(null), "—");
  assert.equal(fmt(undefined), "—");
});

test("esc: markup, quotes and ampersands become entities", () => {
  assert.equal(esc('<script>alert("x")</script>'), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  assert.equal(esc("Tom & Jerry's"), "Tom &amp; Jerry&#39;s");
  assert.equal(esc("&lt;"), "&amp;lt;"); // escaped once more, not passed through
  assert.equal(esc("台山 · 正常"), "台山 · 正常");
  assert.equal(esc(null), "");
  assert.equal(esc(undefined), "");
  assert.equal(esc(0), "0");
});

test("words: a key's word with {vars} filled in; a missing key falls back to the key", () => {
  const tr = words({ stale: "最近一次快照在 {s} 秒前", pair: "{a} / {b}", plain: "在办工单" });
  assert.equal(tr("plain"), "在办工单");
  assert.equal(tr("stale", { s: 42 }), "最近一次快照在 42 秒前");
  assert.equal(tr("pair", { a: 1, b: 2 }), "1 / 2");
  assert.equal(tr("stale"), "最近一次快照在 {s} 秒前"); // no vars: the placeholder stays
  assert.equal(tr("nope"), "nope");
  assert.equal(tr("nope", { s: 1 }), "nope");
  assert.equal(words(undefined)("anything"), "anything");
});

test("words: a word that is deliberately empty stays empty (not the key)", () => {
  // i18n.py has empty words: colour.None in both languages, and "cases" in English
  const tr = words({ "colour.None": "", cases: "" });
  assert.equal(tr("colour.None"), "");
  assert.equal(tr("cases"), "");
});

test("scaleFigure: fonts, margins, line widths and marker sizes scale with rem; data is untouched", () => {
  const fig = {
    data: [
      { type: "bar", x: ["0", "1"], y: [3, 4], marker: { color: "#3fa7ff", size: 6 }, textfont: { size: 10 } },
      { type: "scatter", x: ["0", "1"], y: [5, 0], line: { width: 2.88, dash: "dot" } },
    ],
    layout: { font: { size: 13.6, color: "#cfe3ff" }, margin: { l: 48, r: 16, t: 8, b: 32 }, bargap: 0.25 },
  };
  const before = JSON.parse(JSON.stringify(fig));
  const big = scaleFigure(fig, 32);
  assert.equal(big.layout.font.size, 27.2);
  assert.deepEqual(big.layout.margin, { l: 96, r: 32, t: 16, b: 64 });
  assert.equal(big.data[1].line.width, 5.76);
  assert.equal(big.data[0].marker.size, 12);
  assert.equal(big.data[0].textfont.size, 20);
  assert.equal(big.layout.bargap, 0.25); // not a size
  assert.equal(big.layout.font.color, "#cfe3ff");
  assert.deepEqual(big.data[0].y, [3, 4]);
  assert.deepEqual(big.data[1].x, ["0", "1"]);
  assert.deepEqual(fig, before, "the input figure is not mutated");
  assert.notEqual(big, fig);
});

test("scaleFigure: at the base rem (or none) the figure is an equal copy; a missing figure is empty", () => {
  const fig = { data: [{ line: { width: 2 } }], layout: { font: { size: 13 }, margin: { l: 10 } } };
  assert.deepEqual(scaleFigure(fig, 16), fig);
  assert.deepEqual(scaleFigure(fig), fig);
  assert.deepEqual(scaleFigure(fig, 8).layout.margin, { l: 5 }); // sides it lacks are not invented
  assert.deepEqual(scaleFigure(null, 32), { data: [], layout: {} });
  assert.deepEqual(scaleFigure({ data: [] }, 32), { data: [], layout: {} });
});

test("lib: the page's language decides bj's day format, the words and the category names", () => {
  const config = { lang: "en", text: { lag: "lag" }, categories: { fire: ["火灾", "fire"] } };
  const en = lib(config, 32);
  assert.equal(en.lang, "en");
  assert.equal(en.rem, 32);
  assert.equal(en.bj(T, "dhm"), "15 10:00");
  assert.equal(en.tr("lag"), "lag");
  assert.equal(en.category("fire"), "fire");
  assert.equal(en.category("unknown_code"), "unknown_code");
  assert.equal(en.figure({ data: [], layout: { font: { size: 10 } } }).layout.font.size, 20);
  const zh = lib({ ...config, lang: "zh", text: { lag: "延迟" } });
  assert.equal(zh.rem, 16);
  assert.equal(zh.bj(T, "dhm"), "15日10:00");
  assert.equal(zh.tr("lag"), "延迟");
  assert.equal(zh.category("fire"), "火灾");
  assert.equal(lib({ lang: "zh", text: {} }).category("fire"), "fire"); // no categories at all
});
