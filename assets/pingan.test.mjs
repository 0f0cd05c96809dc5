// assets/pingan.js, the pure parts of the page core: a change log applied to the items a page holds,
// the header every board draws (data as of, feed chips, the red alert strip), the banner's text,
// the rotation's next view, and the data's clock between snapshots.
import test from "node:test";
import assert from "node:assert/strict";
import { core, format, board, fixture, declaredIds, value, props } from "./support.mjs";

const { accumulate, renderHead, bannerText, historyNote, nextView, dataNow } = core;
const T = 1789437600000; // 2026-09-15 10:00:00 Beijing

// --- accumulate ---------------------------------------------------------------------------------

test("accumulate: a reset entry replaces whatever the page held", () => {
  const reset = fixture("wall-map.city");
  const items = new Map([["stale:1", { id: "stale:1" }], ["110:P1", { id: "110:P1", old: true }]]);
  const out = accumulate(items, reset, "markers");
  assert.equal(out, items, "the same map, updated in place");
  assert.deepEqual([...items.keys()], reset.markers.map((m) => m.id));
  assert.equal(items.has("stale:1"), false);
  assert.equal(items.get("110:P1"), reset.markers.find((m) => m.id === "110:P1")); // the reset's item, not the old one
});

test("accumulate: a change entry upserts its items by id and deletes the removed ones", () => {
  const reset = fixture("wall-map.city");
  const items = accumulate(new Map(), reset, "markers");
  const p1 = reset.markers.find((m) => m.id === "110:P1");
  const moved = { ...p1, properties: { ...p1.properties, light: "yellow" } };
  const fresh = { type: "Feature", id: "wg:G9", properties: { fresh: true }, geometry: null };
  accumulate(items, { reset: false, markers: [moved, fresh], removed: ["12345:A2"] }, "markers");
  assert.deepEqual([...items.keys()].sort(), ["110:P1", "110:P2", "12345:A1", "wg:G9"]);
  assert.equal(items.get("110:P1").properties.light, "yellow");
  assert.equal(items.get("wg:G9"), fresh);
  assert.equal(items.get("12345:A1"), reset.markers.find((m) => m.id === "12345:A1"), "an item the change does not name is kept");
  // only removals; an id both upserted and removed in one entry is gone (the case closed)
  accumulate(items, { removed: ["110:P2", "no-such-id"] }, "markers");
  accumulate(items, { markers: [{ id: "12345:A1" }], removed: ["12345:A1"] }, "markers");
  assert.deepEqual([...items.keys()].sort(), ["110:P1", "wg:G9"]);
});

test("accumulate: the items are read from the field the snapshot spec names", () => {
  const items = accumulate(new Map(), { reset: true, vessels: [{ id: "v1" }], markers: [{ id: "m1" }] }, "vessels");
  assert.deepEqual([...items.keys()], ["v1"]);
});

// --- renderHead ---------------------------------------------------------------------------------

test("renderHead: every id it sets is declared in the page config (both boards)", () => {
  for (const name of ["wall.city", "wall.district", "emergency.city", "emergency.district"]) {
    const { snap, frame, lib } = board(name);
    const declared = declaredIds(frame.ids);
    for (const [id, prop] of renderHead(snap, frame, lib)) assert.ok(declared.has(id), `${name}: ${id}.${prop} is not in frame.ids`);
  }
});

test("renderHead: data as of in Beijing time, a dash without it", () => {
  const { snap, frame, lib } = board("emergency.city");
  assert.equal(value(renderHead(snap, frame, lib), frame.ids.as_of, "children"), "2026-09-15 10:00:00");
  assert.equal(value(renderHead({ ...snap, data_as_of: null }, frame, lib), frame.ids.as_of, "children"), "—");
});

test("renderHead: a chip per feed on this board (class, title, lag); nothing for a feed that is not", () => {
  const { snap, frame, lib } = board("emergency.city");
  snap.feeds = snap.feeds.map((f) => (f.code === "sw" ? { ...f, state: "down", lag_s: null } : f.code === "tf" ? { ...f, lag_s: 2.6 } : f));
  const out = renderHead(snap, frame, lib);
  const ids = frame.ids;
  assert.deepEqual(props(out, ids.feed.qx), { className: "feed ok", title: "气象预警 · 正常 · 延迟 1秒" });
  assert.equal(value(out, ids.feed_lag.qx, "children"), "1秒");
  assert.equal(value(out, ids.feed_lag.tf, "children"), "3秒"); // rounded
  assert.deepEqual(props(out, ids.feed.sw), { className: "feed down", title: "水利三防 · 中断 · 延迟 —" });
  assert.equal(value(out, ids.feed_lag.sw, "children"), "—");
  // 110, 12345 and wg feed the wall, not this board: no chip, and no update with a missing id
  assert.ok(!("110" in ids.feed));
  assert.ok(out.every(([id]) => typeof id === "string" && id !== ""));
  const feedUpdates = out.filter(([id]) => id !== ids.as_of && id !== ids.alert);
  assert.equal(feedUpdates.length, 3 * Object.keys(ids.feed).length);
  // the same snapshot's feeds all have chips on the wall
  const w = board("wall.city");
  const onWall = renderHead(snap, w.frame, w.lib);
  assert.equal(value(onWall, w.frame.ids.feed["110"], "className"), "feed ok");
  assert.equal(value(onWall, w.frame.ids.feed_lag["110"], "children"), "1秒");
});

test("renderHead: the red alert strip, ringing while something is unacknowledged", () => {
  const { snap, frame, lib } = board("emergency.city");
  assert.equal(snap.alert.unacknowledged, 1); // the fixture's premise
  const ringing = props(renderHead(snap, frame, lib), frame.ids.alert);
  assert.deepEqual(ringing, { hidden: false, children: "红色告警 · 防风II级应急响应 · 未确认 1 项", className: "alert alarm" });

  const acked = props(renderHead({ ...snap, alert: { ...snap.alert, unacknowledged: 0 } }, frame, lib), frame.ids.alert);
  assert.deepEqual(acked, { hidden: false, children: "红色告警 · 防风II级应急响应 · 已确认", className: "alert" });

  const none = props(renderHead({ ...snap, alert: null }, frame, lib), frame.ids.alert);
  assert.deepEqual(none, { hidden: true, children: "", className: "alert" });

  const notRed = props(renderHead({ ...snap, alert: { ...snap.alert, level: "orange" } }, frame, lib), frame.ids.alert);
  assert.equal(notRed.hidden, true);
});

test("renderHead: the alert strip in English", () => {
  const { snap, frame, lib } = board("emergency.district");
  assert.equal(frame.lang, "en");
  const strip = props(renderHead(snap, frame, lib), frame.ids.alert);
  assert.equal(strip.children, `${frame.text.em_alert_banner.replace("{h}", snap.alert.headline)} · 1 not acknowledged`);
});

// --- historyNote --------------------------------------------------------------------------------

test("historyNote: while history is being written, the days done of how many; nothing once done", () => {
  const zh = board("wall.city"), en = board("emergency.district");
  const lib = (frame) => ({ tr: format.words(frame.text) });
  assert.equal(historyNote({ state: "loading", days: 30, done_days: 12.7, events: 1 }, lib(zh.frame)), " · 历史数据载入中 12/30 天");
  assert.equal(historyNote({ state: "loading", days: 30, done_days: 0, events: 0 }, lib(en.frame)), " · loading history: 0 of 30 days");
  assert.equal(historyNote({ state: "done", days: 30, done_days: 30, events: 9 }, lib(zh.frame)), "");
  assert.equal(historyNote(null, lib(zh.frame)), "");
  assert.equal(zh.snap.history, null, "a snapshot says when no history ran");
});

// --- bannerText ---------------------------------------------------------------------------------

test("bannerText: offline once the stream has been silent and closed for more than 3 s", () => {
  const { frame } = board("wall.city");
  const tr = format.words(frame.text);
  const now = 1_000_000;
  const snap = { feeds: [{ lag_s: 1 }] };
  assert.equal(bannerText({ connected: false, heardAt: now - 3001, snap: null }, now, frame, tr), "与服务器的连接已断开，正在重连…");
  assert.equal(bannerText({ connected: false, heardAt: now - 3001, snap, snapAt: now }, now, frame, tr), tr("offline"));
  // a blip shorter than that shows nothing
  assert.equal(bannerText({ connected: false, heardAt: now - 2000, snap, snapAt: now }, now, frame, tr), "");
  assert.equal(bannerText({ connected: true, heardAt: now - 60000, snap: null }, now, frame, tr), "");
});

test("bannerText: a stale snapshot, then stale ingestion, else nothing", () => {
  const { frame } = board("wall.city");
  assert.equal(frame.stale_after_s, 15);
  const tr = format.words(frame.text);
  const now = 1_000_000;
  const at = (ago, lags) => ({ connected: true, heardAt: now, snapAt: now - ago, snap: { feeds: lags.map((lag_s) => ({ lag_s })) } });

  assert.equal(bannerText(at(20000, [1]), now, frame, tr), "数据已停止更新：最近一次快照在 20 秒前");
  assert.equal(bannerText(at(15000, [0]), now, frame, tr), "", "exactly stale_after_s is not stale yet");
  // the snapshot is fresh but the freshest feed + the snapshot's age is past the limit
  assert.equal(bannerText(at(5000, [12, 30, null]), now, frame, tr), "数据接入中断：最近一次接入在 17 秒前");
  assert.equal(bannerText(at(5000, [10]), now, frame, tr), "", "10 s + 5 s is not past 15 s");
  assert.equal(bannerText(at(5000, [40, 1]), now, frame, tr), "", "one live feed is enough");
  assert.equal(bannerText(at(2000, [1.2]), now, frame, tr), "");
  // the connection has just dropped: the snapshot's age still counts
  assert.equal(bannerText({ ...at(16000, [1]), connected: false, heardAt: now - 1000 }, now, frame, tr), "数据已停止更新：最近一次快照在 16 秒前");
});

// --- nextView -----------------------------------------------------------------------------------

test("nextView: the view after the one on screen, found by path and scope only", () => {
  const views = ["/board/wall?scope=440700&lang=zh", "/board/wall?scope=440781", "/board/emergency?lang=zh&scope=440700"];
  assert.equal(nextView(views, { pathname: "/board/wall", search: "?scope=440700" }), views[1]);
  assert.equal(nextView(views, { pathname: "/board/wall", search: "?kiosk=1&lang=en&scope=440781" }), views[2]);
  assert.equal(nextView(views, { pathname: "/board/emergency", search: "?scope=440700" }), views[0], "wraps around");
  // not in the rotation (another scope, another board): start at the first view
  assert.equal(nextView(views, { pathname: "/board/emergency", search: "?scope=440781" }), views[0]);
  assert.equal(nextView(views, { pathname: "/", search: "" }), views[0]);
  // no scope on either side is a match too
  assert.equal(nextView(["/board/wall", "/board/emergency"], { pathname: "/board/wall", search: "?lang=en" }), "/board/emergency");
});

test("nextView: nothing to rotate with fewer than two views", () => {
  const here = { pathname: "/board/wall", search: "?scope=440700" };
  assert.equal(nextView([], here), null);
  assert.equal(nextView(["/board/wall?scope=440700"], here), null);
  assert.equal(nextView(undefined, here), null);
});

// --- dataNow ------------------------------------------------------------------------------------

test("dataNow: the snapshot's instant advanced at the clock's speed", () => {
  const snapAt = 5_000_000;
  assert.equal(dataNow({ snap: { as_of: T, clock: { speed: 1 } }, snapAt }, snapAt + 3000), T + 3000);
  assert.equal(dataNow({ snap: { as_of: T, clock: { speed: 60 } }, snapAt }, snapAt + 3000), T + 180000);
  assert.equal(dataNow({ snap: { as_of: T, clock: { origin: null, speed: null } }, snapAt }, snapAt + 2000), T + 2000);
  assert.equal(dataNow({ snap: { as_of: T }, snapAt }, snapAt), T);
  assert.equal(dataNow({ snap: null, snapAt: 0 }, 1234), 1234, "no snapshot yet: the machine's clock");
  const fixtureSnap = fixture("wall.city");
  assert.equal(format.bj(dataNow({ snap: fixtureSnap, snapAt }, snapAt + 61000), "time"), "10:01:01");
});
