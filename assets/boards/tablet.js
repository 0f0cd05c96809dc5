/* The leaders' tablet: the city's picture drilled down by tap — city, district, town, village, grid.
 *
 * Unlike the wall, the tablet draws itself (docs/decisions/036): Dash renders a page through a POST
 * callback, which a service worker cannot keep, and a leader's tablet must still show the last data
 * it had with the network gone. So every byte it needs comes by GET — its config, the scope's `wall`
 * snapshot (then its push stream), the places, cases, history and emergency APIs — and the service
 * worker (tablet-sw.js) keeps the shell and the data of the scopes visited. The scope lives in the
 * address (/tablet?scope=CODE): a tap pushes a new entry, the back gesture goes up a level, a link
 * opens the same view elsewhere.
 *
 * The pure parts (views: data in, HTML out, every text escaped) are unit-tested in Node against the
 * fixtures the Python builders wrote; the controller below them runs in the browser only.
 */
(function (root, factory) {
  const tablet = factory();
  if (typeof module === "object" && module.exports) module.exports = tablet;
  else {
    const NS = (root.pingan = root.pingan || {});
    (NS.renderers = NS.renderers || {}).tablet = tablet;
    tablet.start(root);
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const PATH = "/tablet"; // the board's path (dashboard/boards.py TABLET; a test holds them equal)
  const QUIET_REOPEN_MS = 20000; // the stream pings every few seconds: this much silence means it is dead
  const OFFLINE_AFTER_MS = 3000; // a stream lost this long (or the browser offline) shows the offline banner
  const REFRESH_MS = 15000; // the case list and the emergency picture are read again this often
  const PREVIOUS_MS = 300000; // the previous period's KPIs (from the archive) change slowly
  const KEEP_SNAPSHOT_MS = 5000; // the newest pushed snapshot is written to the offline cache at most this often
  const PRECACHE_AFTER_MS = 3000; // the page's scripts (Dash loads some late) are kept once it has settled
  // what the service worker keeps (tablet-sw.js KEPT): the page, its scripts, and the data of places visited
  const KEPT = /^\/(tablet(\/config\.json)?|assets\/.*|_dash-component-suites\/.*|_dash-(layout|dependencies)|api\/(snapshot|places|cases)\/.*|api\/history\/[^/]+\/kpis)$/;
  const LIGHTS = { red: "#d93b3b", yellow: "#e0a400", green: "#2f9e62" };
  const LEVEL_ZH = { city: "市", district: "区（市）", town: "镇（街）", village: "村（居）", grid: "网格" };

  // --- pure parts ------------------------------------------------------------------------------------

  // the window on screen and the one before it (the same length, ending as far back as it lasts)
  function period(snap, win) {
    const w = (snap.windows || {})[win.key];
    if (!w) return null;
    const back = win.days * 86400000;
    return { start: w.start, end: w.end, prevStart: w.start - back, prevEnd: w.end - back };
  }

  // a rate against the previous period's, in percentage points (null when either is missing)
  function delta(now, before) {
    if (now == null || before == null) return null;
    return Math.round((now - before) * 10) / 10;
  }

  function rate(kpis, key) {
    const r = kpis && kpis.rates && kpis.rates[key];
    return r ? r : { value: null, status: "none" };
  }

  // the places one level down, best first: by the closure rate (30 days; none last) or by overdue
  // clocks (most first); ties by open cases, then code
  function ranked(areas, by) {
    const rows = (areas || []).slice();
    const closure = (a) => rate(a.kpis_30d, "closure").value;
    if (by === "overdue") rows.sort((a, b) => a.red - b.red || a.yellow - b.yellow || a.code.localeCompare(b.code));
    else rows.sort((a, b) => (closure(b) ?? -1) - (closure(a) ?? -1) || a.red - b.red || a.code.localeCompare(b.code));
    return rows;
  }

  // the breadcrumbs: every place from the city down; those above the account's own scope are shown but
  // cannot be opened (an account scoped to a district cannot leave it)
  function crumbs(chain, home, city) {
    const at = chain.findIndex((p) => p.code === home);
    const from = home === city || at < 0 ? 0 : at;
    return chain.map((p, i) => ({ code: p.code, name: p.name, level: p.level, open: i >= from && i < chain.length - 1 }));
  }

  function attrs(o) {
    return Object.entries(o).filter(([, v]) => v != null && v !== false)
      .map(([k, v]) => (v === true ? k : `${k}="${esc(v)}"`)).join(" ");
  }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function signed(d) {
    if (d == null) return "—";
    return (d > 0 ? "+" : d < 0 ? "−" : "±") + Math.abs(d).toFixed(1);
  }

  function placeName(p, lib) {
    return p.level === "city" ? lib.tr("city") : p.name;
  }

  function crumbsHtml(items, lib) {
    return items.map((c, i) => {
      const name = esc(c.level === "city" ? lib.tr("city") : c.name);
      const sep = i ? '<span class="tb-sep" aria-hidden="true">›</span>' : "";
      return sep + (c.open ? `<a class="tb-crumb" href="?scope=${esc(c.code)}" data-go="${esc(c.code)}">${name}</a>`
                           : `<span class="tb-crumb here" ${attrs({ "aria-current": i === items.length - 1 ? "page" : null })}>${name}</span>`);
    }).join("");
  }

  // the figures of now: open, urgent, incidents, escalated, and the SLA lights summed over every stage
  function nowHtml(s, lib) {
    const c = s.cases || {};
    const red = (s.sla || []).filter((r) => !r.stage).reduce((n, r) => n + r.red, 0);
    const yellow = (s.sla || []).filter((r) => !r.stage).reduce((n, r) => n + r.yellow, 0);
    const tile = (k, label, v, cls) => `<div class="tb-tile ${cls || ""}"><b data-k="${k}">${lib.fmt(v)}</b><span>${esc(label)}</span></div>`;
    return tile("open", lib.tr("open"), c.open) + tile("urgent_open", lib.tr("open_p1"), c.urgent_open, c.urgent_open ? "hot" : "") +
      tile("open_incidents", lib.tr("inc"), c.open_incidents) + tile("escalated_open", lib.tr("esc"), c.escalated_open) +
      tile("red", lib.tr("red"), red, red ? "red" : "") + tile("yellow", lib.tr("yellow"), yellow, yellow ? "yellow" : "");
  }

  // one tile per KPI: the window's rate, its target and the change against the previous period
  function kpisHtml(s, win, prev, cfg, lib) {
    const now = (s.kpis || {})[win.key];
    return cfg.kpis.map((k) => {
      const r = rate(now, k.key);
      const before = prev ? rate(prev, k.key).value : null;
      const d = delta(r.value, before);
      const trend = d == null ? "" : d > 0 ? "up" : d < 0 ? "down" : "flat";
      const target = k.target == null ? "" : `${lib.tr("target")} ${k.target}%`;
      return `<div class="tb-kpi ${r.status}" title="${esc(k.formula)}"><span class="name">${esc(k.name)}</span>` +
        `<b data-k="kpi.${k.key}">${lib.pct(r.value)}</b><span class="unit">%</span>` +
        `<span class="target">${esc(target)}</span>` +
        `<span class="delta ${trend}" data-k="delta.${k.key}">${esc(lib.tr("tb_vs_prev"))} ${signed(d)}</span></div>`;
    }).join("");
  }

  // the ranked list of the level below (红黑榜): best and worst, every row opens its place
  function rankHtml(s, by, lib, canOpen) {
    const rows = ranked(s.areas, by);
    if (!rows.length) return `<p class="tb-empty">${esc(lib.tr("tb_no_below"))}</p>`;
    return rows.map((a, i) => {
      const closure = rate(a.kpis_30d, "closure");
      const cls = i < 3 ? "best" : i >= rows.length - 3 ? "worst" : "";
      const open = canOpen ? { "data-go": a.code, role: "button", tabindex: "0" } : {};
      return `<li ${attrs({ class: `tb-row ${cls}`, "data-code": a.code, ...open })}>` +
        `<span class="rank">${i + 1}</span><span class="name">${esc(a.name)}</span>` +
        `<span class="v"><b data-k="closure">${lib.pct(closure.value)}</b><small>%</small></span>` +
        `<span class="v red"><b data-k="red">${lib.fmt(a.red)}</b></span>` +
        `<span class="v"><b data-k="open">${lib.fmt(a.open)}</b></span></li>`;
    }).join("");
  }

  function light(l) {
    return l ? `<i class="tb-light ${l}" aria-label="${l}"></i>` : `<i class="tb-light none"></i>`;
  }

  function caseRowsHtml(items, lib) {
    return items.map((c) => `<li class="tb-case" data-case="${esc(c.case_id)}" role="button" tabindex="0">` +
      `${light(c.light)}<span class="what"><b>${esc(c.category_name)}</b>` +
      `<span class="sum">${esc(c.summary)}</span></span>` +
      `<span class="meta"><span>${esc(c.source_name)} · P${c.priority}</span>` +
      `<span>${lib.bj(c.reported_at, "md")}</span>` +
      `<span class="due">${c.due ? esc(lib.tr("tb_due")) + " " + lib.bj(c.due, "md") : esc(lib.tr("status." + c.status))}</span></span></li>`).join("");
  }

  // a case's whole life: its steps, each SLA clock with its deadline and whether it was met, the
  // reports of the same incident through other systems
  function lifeHtml(life, lib, names) {
    const c = life.case;
    const where = [c.district, c.town, c.village, c.grid].filter(Boolean).map((x) => (names || {})[x] || x).join(" › ");
    const steps = life.steps.map((st) => `<li><time>${lib.bj(st.at, "md")}</time><span>${esc(lib.tr("status." + st.status))}` +
      `${st.satisfaction ? " · " + esc(st.satisfaction) : ""}</span></li>`).join("");
    const clocks = life.clocks.map((k) => {
      const label = lib.lang === "en" ? k.label_en : k.label_zh;
      const outcome = lib.tr(k.outcome === "running" ? "running" : k.outcome === "met" ? "tb_met" : "tb_missed");
      return `<tr class="${k.outcome}"><td>${esc(label)}</td><td>${lib.bj(k.deadline, "md")}</td>` +
        `<td>${k.stopped ? lib.bj(k.stopped, "md") : "—"}</td><td>${k.light ? light(k.light) : ""}${esc(outcome)}</td></tr>`;
    }).join("");
    const linked = life.linked.map((o) => `<li><b>${esc(o.source_name)}</b> ${lib.bj(o.reported_at, "md")} · ` +
      `${esc(lib.tr("status." + o.status))}<div class="sum">${esc(o.summary)}</div></li>`).join("");
    return `<header><h3>${esc(c.category_name)} <small>P${c.priority}</small></h3>` +
      `<p class="id">${esc(c.case_id)} · ${esc(c.source_name)} · ${esc(lib.tr("status." + c.status))}</p>` +
      `<p class="sum">${esc(c.summary)}</p><p class="where">${esc(where)}</p></header>` +
      `<div class="tb-minimap" ${c.lat == null ? "hidden" : ""}></div>` +
      `<h4>${esc(lib.tr("tb_timeline"))}</h4><ol class="tb-steps">${steps}</ol>` +
      `<h4>${esc(lib.tr("sla"))}</h4><table class="tb-clocks"><thead><tr><th>${esc(lib.tr("stage"))}</th>` +
      `<th>${esc(lib.tr("tb_deadline"))}</th><th>${esc(lib.tr("tb_stopped"))}</th><th></th></tr></thead>` +
      `<tbody>${clocks || `<tr><td colspan="4" class="tb-empty">${esc(lib.tr("tb_no_clock"))}</td></tr>`}</tbody></table>` +
      `<h4>${esc(lib.tr("tb_linked"))} (${life.linked.length})</h4><ul class="tb-linked">${linked || `<li class="tb-empty">—</li>`}</ul>`;
  }

  // the emergency picture when one is active: the response, warnings by district, the storm's
  // distance and arrival, mobilisation (null when nothing is active)
  function emergencyHtml(em, lib, path, scope) {
    if (!em) return null;
    const resp = em.response && em.response.active ? em.response : null;
    const warned = (em.districts || []).filter((d) => d.warning_rank > 0);
    const storm = em.storm && em.storm.near ? em.storm : null;
    if (!resp && !warned.length && !storm) return null;
    const parts = [];
    if (resp) parts.push(`<div class="tb-em-level sev${resp.severity}"><b>${esc(lib.tr("tb_response"))} ${esc(resp.level || "")}</b>` +
      `<span>${esc(resp.hazard || "")} ${esc(resp.action || "")}</span></div>`);
    if (storm) {
      const w = arrival(em.districts || []);
      const wind = !w.force7 ? "" : w.force7.inside ? lib.tr("tb_force7_in") : lib.tr("tb_force7_at", { t: lib.bj(w.force7.at, "dhm") });
      parts.push(`<div class="tb-em-storm"><b>${esc(lib.lang === "en" ? storm.name_en : storm.name_zh)}</b>` +
        `<span>${esc(lib.tr("tb_storm_km", { km: storm.distance_km }))}</span>` +
        `<span>${esc(lib.tr("tb_closest"))} ${w.closest ? lib.bj(w.closest, "dhm") : "—"}</span>` +
        (wind ? `<span class="tb-em-wind">${esc(wind)}</span>` : "") + "</div>");
    }
    if (warned.length) parts.push(`<ul class="tb-em-warn">${warned.map((d) => `<li class="rank${d.warning_rank}">` +
      `<b>${esc(d.name)}</b> ${d.warnings.map((w) => esc(w.headline)).slice(0, 2).join("；")}</li>`).join("")}</ul>`);
    const m = em.mobilisation || {};
    parts.push(`<div class="tb-em-mob"><span>${esc(lib.tr("tb_deployed"))} <b>${lib.fmt(m.deployed)}</b></span>` +
      `<span>${esc(lib.tr("tb_transferred"))} <b>${lib.fmt(m.transferred)}</b></span>` +
      `<span>${esc(lib.tr("tb_reports"))} <b>${lib.fmt(m.reports)}</b></span></div>`);
    if (path) parts.push(`<a class="tb-em-go" href="${esc(path)}?scope=${esc(scope)}">${esc(lib.tr("tb_to_emergency"))} ›</a>`);
    return parts.join("");
  }

  // when the storm comes closest and its force-7 wind circle arrives: the district shown, or at the
  // city the first district it reaches
  function arrival(rows) {
    const here = rows.find((d) => d.selected);
    const of = here ? [here] : rows;
    const winds = of.map((d) => d.force7).filter((x) => x && (x.inside || x.at));
    winds.sort((a, b) => (b.inside - a.inside) || (a.at - b.at));
    const closest = of.map((d) => d.closest_at).filter((x) => x != null);
    return { force7: winds[0] || null, closest: closest.length ? Math.min(...closest) : null };
  }

  // the banner over the page: offline (with when the data is from), or the data stopped updating
  function bannerText(st, now, lib) {
    const asOf = st.snap && st.snap.data_as_of ? lib.bj(st.snap.data_as_of, "full") : "—";
    if (st.offline || (!st.connected && now - st.heardAt > OFFLINE_AFTER_MS)) return `${lib.tr("tb_offline")} · ${lib.tr("as_of")} ${asOf}`;
    if (st.snap && (now - st.snapAt) / 1000 > st.staleAfter) return lib.tr("stale_snapshot", { s: Math.round((now - st.snapAt) / 1000) });
    return "";
  }

  // --- the controller (browser only) ----------------------------------------------------------------

  function start(root) {
    if (!root.document || root.location.pathname !== PATH) return;
    if (root.document.readyState === "loading") root.document.addEventListener("DOMContentLoaded", () => boot(root));
    else boot(root);
  }

  function boot(root) {
    const doc = root.document;
    const NS = root.pingan;
    const q0 = new URLSearchParams(root.location.search);
    const lang = q0.get("lang") || (root.localStorage && localStorage.getItem("pingan.lang")) || "";
    const st = {
      cfg: null, lib: null, scope: null, place: null, snap: null, snapAt: 0, es: null, connected: false, offline: !navigator.onLine,
      heardAt: Date.now(), win: null, rankBy: "closure", order: "overdue", pages: 1, cases: null, em: null,
      prev: {}, keptAt: 0, map: null, layers: {}, drawn: {}, caseOpen: null, staleAfter: 15,
    };
    NS.tablet = st; // for tests and a curious operator in the console
    const el = doc.createElement("div");
    el.id = "tb";
    el.className = "tb";
    doc.body.appendChild(el);
    doc.documentElement.classList.add("tablet-page");
    applyTheme(localStorage.getItem("pingan.theme") || "light");

    const configUrl = `${PATH}/config.json${lang ? `?lang=${encodeURIComponent(lang)}` : ""}`;
    fetchJson(configUrl).then((cfg) => {
      st.cfg = cfg;
      st.lib = NS.format.lib(cfg, 16);
      st.staleAfter = cfg.stale_after_s;
      const q = new URLSearchParams(root.location.search); // the filters a link carries
      st.win = cfg.windows.find((w) => w.key === q.get("win")) || cfg.windows[0];
      if (["closure", "overdue"].includes(q.get("rank"))) st.rankBy = q.get("rank");
      if (["overdue", "newest"].includes(q.get("order"))) st.order = q.get("order");
      el.innerHTML = skeleton(cfg, st.lib);
      for (const [group, value] of [[".tb-wins", st.win.key], [".tb-rankby", st.rankBy], [".tb-order", st.order]]) {
        press(group, el.querySelector(`${group} [data-win="${value}"], ${group} [data-rank="${value}"], ${group} [data-order="${value}"]`));
      }
      bind();
      plotly(cfg);
      worker(cfg);
      go(new URLSearchParams(root.location.search).get("scope") || cfg.home, false);
      setInterval(tick, 1000);
      setInterval(() => { if (st.place) { loadCases(); loadEmergency(); } }, REFRESH_MS);
    }, (err) => { el.innerHTML = `<p class="tb-empty">${esc(String(err))}</p>`; });

    root.addEventListener("popstate", () => {
      const q = new URLSearchParams(root.location.search);
      const scope = q.get("scope") || st.cfg.home;
      if (!scope || !st.place || scope !== st.place.scope.code) go(scope, false);
      showCase(q.get("case"), false);
    });
    root.addEventListener("offline", () => { st.offline = true; tick(); });
    root.addEventListener("online", () => { st.offline = false; if (st.place) { open(); refresh(); } });

    function $(sel) {
      return el.querySelector(sel);
    }

    // a GET's JSON; with the network gone, what the offline cache kept of it (the service worker answers
    // first; this also covers a page it does not control yet)
    function fetchJson(url) {
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).catch((err) => {
        if (!root.caches) throw err;
        return caches.match(url, { ignoreVary: true }).then((hit) => { if (!hit) throw err; return hit; });
      }).then((r) => {
        if (r.status === 401 || (r.redirected && new URL(r.url).pathname === "/login")) {
          root.location.assign(`/login?next=${encodeURIComponent(root.location.pathname + root.location.search)}`);
          throw new Error("login");
        }
        if (!r.ok) throw new Error(`${url}: ${r.status}`);
        return r.json();
      });
    }

    function applyTheme(theme) {
      doc.documentElement.dataset.theme = theme;
      try { localStorage.setItem("pingan.theme", theme); } catch (e) { /* private mode */ }
    }

    function skeleton(cfg, lib) {
      const v = cfg.viewer;
      const other = cfg.lang === "en" ? "zh" : "en";
      const wins = cfg.windows.map((w, i) => `<button type="button" data-win="${esc(w.key)}" ${i ? "" : 'aria-pressed="true"'}>${esc(w.label)}</button>`).join("");
      const who = v ? `<span class="tb-who">${esc(v.name)}</span><form method="POST" action="/logout" class="tb-logout">` +
        `<input type="hidden" name="csrf_token" value="${esc(v.csrf)}"><input type="hidden" name="lang" value="${esc(cfg.lang)}">` +
        `<button type="submit">${esc(lib.tr("auth_logout"))}</button></form>` : "";
      return `<header class="tb-head"><div class="tb-title"><b>${esc(cfg.city.name)}</b> ${esc(cfg.title)}</div>` +
        `<nav class="tb-crumbs" aria-label="breadcrumbs"></nav>` +
        `<div class="tb-tools"><div class="tb-seg tb-wins" role="group">${wins}</div>` +
        `<button type="button" class="tb-theme" aria-label="theme">◐</button>` +
        `<a class="tb-lang" href="?lang=${other}" data-lang="${other}">${other === "en" ? "EN" : "中文"}</a>${who}</div>` +
        `<div class="tb-asof"><span class="tb-clock">--:--:--</span> <span>${esc(lib.tr("as_of"))}</span> <span class="tb-data-asof">—</span><span class="tb-history"></span></div></header>` +
        `<div class="tb-banner" hidden></div><a class="tb-alert" hidden></a>` +
        `<section class="tb-emergency" hidden></section>` +
        `<section class="tb-now"></section>` +
        `<section class="tb-kpis"></section>` +
        `<div class="tb-two"><section class="tb-mapbox"><h2>${esc(lib.tr("map"))} <small class="tb-level"></small></h2><div class="tb-map"></div></section>` +
        `<section class="tb-rank"><h2>${esc(lib.tr("tb_rank"))}</h2><div class="tb-seg tb-rankby" role="group">` +
        `<button type="button" data-rank="closure" aria-pressed="true">${esc(lib.tr("tb_by_closure"))}</button>` +
        `<button type="button" data-rank="overdue">${esc(lib.tr("tb_by_overdue"))}</button></div>` +
        `<div class="tb-rank-head"><span>#</span><span>${esc(lib.tr("area"))}</span><span>${esc(lib.tr("closure_30d"))}</span>` +
        `<span>${esc(lib.tr("red"))}</span><span>${esc(lib.tr("open"))}</span></div><ol class="tb-rows"></ol></section></div>` +
        `<section class="tb-trendbox"><h2>${esc(lib.tr("trend"))}</h2><div class="tb-trend"></div></section>` +
        `<section class="tb-cases"><h2>${esc(lib.tr("tb_cases"))} <small class="tb-total"></small></h2>` +
        `<div class="tb-seg tb-order" role="group"><button type="button" data-order="overdue" aria-pressed="true">${esc(lib.tr("tb_most_overdue"))}</button>` +
        `<button type="button" data-order="newest">${esc(lib.tr("tb_newest"))}</button></div>` +
        `<ol class="tb-case-list"></ol><button type="button" class="tb-more" hidden>${esc(lib.tr("tb_more"))}</button></section>` +
        `<aside class="tb-drawer" hidden aria-modal="true" role="dialog"><button type="button" class="tb-close" aria-label="close">✕</button>` +
        `<div class="tb-life"></div></aside>`;
    }

    // one listener for every tap: places open by data-go, cases by data-case, the segmented buttons
    function bind() {
      el.addEventListener("click", (ev) => {
        const t = ev.target.closest("[data-go],[data-case],[data-win],[data-rank],[data-order],.tb-more,.tb-close,.tb-theme,.tb-lang");
        if (!t || !el.contains(t)) return;
        if (t.classList.contains("tb-lang")) { // the same view in the other language
          ev.preventDefault();
          try { localStorage.setItem("pingan.lang", t.dataset.lang); } catch (e) { /* private mode */ }
          const q = new URLSearchParams(root.location.search);
          q.set("lang", t.dataset.lang);
          root.location.assign(`${PATH}?${q.toString()}`);
          return;
        }
        ev.preventDefault();
        if (t.dataset.go) go(t.dataset.go, true);
        else if (t.dataset.case) showCase(t.dataset.case, true);
        else if (t.dataset.win) {
          st.win = st.cfg.windows.find((w) => w.key === t.dataset.win);
          filter("win", st.win.key, ".tb-wins", t);
          draw();
          loadPrevious();
        } else if (t.dataset.rank) {
          st.rankBy = t.dataset.rank;
          filter("rank", st.rankBy, ".tb-rankby", t);
          draw();
        } else if (t.dataset.order) {
          st.order = t.dataset.order;
          st.pages = 1;
          filter("order", st.order, ".tb-order", t);
          loadCases();
        }
        else if (t.classList.contains("tb-more")) { st.pages += 1; loadCases(); }
        else if (t.classList.contains("tb-close")) closeCase();
        else if (t.classList.contains("tb-theme")) {
          applyTheme(doc.documentElement.dataset.theme === "dark" ? "light" : "dark");
          st.drawn.trend = null; // the chart's ink follows the theme
          if (st.snap) chart(st.snap);
        }
      });
      el.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" && ev.target.matches("[role=button]")) ev.target.click();
      });
      el.querySelector(".tb-logout") && el.querySelector(".tb-logout").addEventListener("submit", () => {
        // the server's Clear-Site-Data empties the cache too; this covers a browser that ignores it
        if (root.caches) caches.keys().then((ks) => ks.forEach((k) => k.startsWith("pingan-tablet") && caches.delete(k)));
      });
    }

    // a filter changed: pressed on screen and kept in the address (replaced, so back still goes up a level)
    function filter(name, value, group, button) {
      press(group, button);
      const q = new URLSearchParams(root.location.search);
      q.set(name, value);
      root.history.replaceState(root.history.state, "", `${PATH}?${q.toString()}`);
    }

    function press(group, button) {
      for (const b of el.querySelectorAll(`${group} button`)) b.setAttribute("aria-pressed", b === button ? "true" : "false");
    }

    function plotly(cfg) {
      if (root.Plotly || !cfg.plotly) return;
      const tag = doc.createElement("script");
      tag.src = cfg.plotly;
      tag.onload = () => { if (st.snap) chart(st.snap); };
      doc.head.appendChild(tag);
    }

    function worker(cfg) {
      if (!navigator.serviceWorker) return; // only over HTTPS or on localhost: no offline copy elsewhere
      navigator.serviceWorker.register(`${PATH}/sw.js?v=${encodeURIComponent(cfg.build)}`, { scope: PATH })
        .then(() => setTimeout(precache, PRECACHE_AFTER_MS), (err) => console.warn("pingan: no offline copy:", err));
    }

    // what this first visit loaded before the service worker was there to keep it: the page, its config,
    // Dash's layout, every script and stylesheet, and the data of the places opened so far (the worker
    // keeps whatever comes later by itself)
    function precache() {
      if (!root.caches) return;
      const urls = new Set([PATH, configUrl, "/_dash-layout", "/_dash-dependencies", st.cfg.plotly]);
      for (const e of root.performance.getEntriesByType("resource")) urls.add(e.name);
      for (const s of doc.querySelectorAll("script[src]")) urls.add(s.src);
      for (const l of doc.querySelectorAll("link[rel=stylesheet][href]")) urls.add(l.href);
      const kept = [...urls].map((u) => new URL(u, root.location.href))
        .filter((u) => u.origin === root.location.origin && KEPT.test(u.pathname));
      caches.open(cacheName()).then((c) => Promise.all(kept.map((u) => c.add(u.href).catch(() => null))))
        .catch(() => {});
    }

    function cacheName() {
      return `pingan-tablet-${st.cfg.build}`;
    }

    // --- a scope ---------------------------------------------------------------------------------

    function go(code, push) {
      const here = new URLSearchParams(root.location.search);
      if (push) {
        here.set("scope", code); // the filters and the language go along; an open case does not
        here.delete("case");
        root.history.pushState({ scope: code }, "", `${PATH}?${here.toString()}`);
      }
      else if (!here.get("scope")) {
        here.set("scope", code); // the address always names the scope: a link to it opens the same view
        root.history.replaceState({ scope: code }, "", `${PATH}?${here.toString()}`);
      }
      st.pages = 1;
      st.cases = null;
      st.prev = {};
      st.want = code;
      fetchJson(`/api/places/${encodeURIComponent(code)}`).then((place) => {
        if (st.want !== code) return;
        st.place = place;
        $(".tb-crumbs").innerHTML = crumbsHtml(crumbs(place.chain, st.cfg.home, st.cfg.city.code), st.lib);
        $(".tb-level").textContent = LEVEL_ZH[place.scope.level] && st.lib.lang !== "en" ? LEVEL_ZH[place.scope.level] : place.scope.level;
        doc.title = `${placeName(place.scope, st.lib)} · ${st.cfg.title}`;
        return fetchJson(`/api/snapshot/${st.cfg.snapshot}?scope=${encodeURIComponent(code)}`);
      }).then((snap) => {
        if (!snap || st.want !== code) return;
        got(snap);
        open();
        refresh();
      }).catch((err) => {
        if (String(err.message) === "login") return;
        console.warn("pingan:", err);
        $(".tb-banner").hidden = false;
        $(".tb-banner").textContent = `${st.lib.tr("tb_unavailable")} (${code})`;
      });
      showCase(new URLSearchParams(root.location.search).get("case"), false);
    }


    function refresh() {
      loadCases();
      loadPrevious();
      loadEmergency();
    }

    function open() {
      if (st.es) st.es.close();
      const es = new EventSource(`/stream/${st.cfg.board}?scope=${encodeURIComponent(st.place.scope.code)}`);
      st.es = es;
      st.heardAt = Date.now();
      const heard = () => { if (st.es === es) { st.heardAt = Date.now(); st.connected = true; st.offline = false; } };
      es.addEventListener("ping", heard);
      es.addEventListener("hello", heard);
      es.addEventListener(st.cfg.snapshot, (ev) => {
        if (st.es !== es) return;
        heard();
        try {
          const s = JSON.parse(ev.data);
          if (s.scope === st.place.scope.code) got(s);
        } catch (err) {
          console.error("pingan: bad message", err);
        }
      });
      es.addEventListener("logout", () => {
        es.close();
        root.location.assign(`/login?next=${encodeURIComponent(root.location.pathname + root.location.search)}`);
      });
      es.onopen = heard;
      es.onerror = () => { if (st.es === es) st.connected = false; };
    }

    function got(snap) {
      st.snap = snap;
      st.snapAt = Date.now();
      draw();
      keep(snap);
    }

    // the newest snapshot, where the service worker answers from when the network is gone
    function keep(snap) {
      if (!root.caches || Date.now() - st.keptAt < KEEP_SNAPSHOT_MS) return;
      st.keptAt = Date.now();
      const url = `${root.location.origin}/api/snapshot/${st.cfg.snapshot}?scope=${encodeURIComponent(snap.scope)}`;
      caches.open(cacheName()).then((c) => c.put(url, new Response(JSON.stringify(snap),
        { headers: { "Content-Type": "application/json" } }))).catch(() => {});
    }

    // --- drawing -----------------------------------------------------------------------------------

    function set(sel, html) {
      const node = $(sel);
      if (node && st.drawn[sel] !== html) {
        node.innerHTML = html;
        st.drawn[sel] = html;
      }
    }

    function draw() {
      const s = st.snap, lib = st.lib;
      if (!s) return;
      $(".tb-data-asof").textContent = s.data_as_of ? lib.bj(s.data_as_of, "full") : "—";
      set(".tb-now", nowHtml(s, lib));
      const per = period(s, st.win);
      set(".tb-kpis", kpisHtml(s, st.win, per && st.prev[prevKey(per)], st.cfg, lib));
      set(".tb-rows", rankHtml(s, st.rankBy, lib, s.area_level != null));
      alertBanner(s.alert);
      chart(s);
      mapDraw(s);
    }

    function alertBanner(a) {
      const node = $(".tb-alert");
      const red = !!(a && a.level === "red");
      node.hidden = !red;
      if (!red) return;
      node.textContent = st.lib.tr("em_alert_banner", { h: a.headline || "" });
      node.href = `${a.board_path}?scope=${encodeURIComponent(s0())}`;
    }

    function s0() {
      // the emergency board is shown at the city and the districts: a place below goes to its district
      const chain = (st.place && st.place.chain) || [];
      const d = chain.find((p) => p.level === "district");
      return d ? d.code : st.cfg.city.code;
    }

    function chart(s) {
      const fig = s.charts && s.charts.trend && s.charts.trend[st.lib.lang];
      const node = $(".tb-trend");
      if (!fig || !root.Plotly || !node) return;
      const key = JSON.stringify(fig);
      if (st.drawn.trend === key) return;
      st.drawn.trend = key;
      const dark = doc.documentElement.dataset.theme === "dark";
      const layout = Object.assign({}, fig.layout, { dragmode: false, autosize: true, height: undefined,
        font: Object.assign({}, (fig.layout || {}).font, { color: dark ? "#dfe7f2" : "#1d2733" }) });
      // no drag, no zoom, no scroll capture: a swipe over the chart scrolls the page (plotly.js #2844)
      Plotly.react(node, fig.data, layout, { displayModeBar: false, scrollZoom: false, staticPlot: false, responsive: true });
    }

    // --- the map: districts to tap at the city, the place's cases as lights below -------------------

    function mapDraw(s) {
      const L = root.L;
      const node = $(".tb-map");
      if (!L || !node) return;
      if (!st.map) {
        const coarse = root.matchMedia && root.matchMedia("(pointer: coarse)").matches;
        // one finger scrolls the page, two pinch and pan the map (no vertical swipe is captured)
        st.map = L.map(node, { zoomSnap: 0.25, dragging: !coarse, touchZoom: true, scrollWheelZoom: false, tap: false,
                               attributionControl: !!st.cfg.tiles.ok, zoomControl: true });
        if (st.map.attributionControl) st.map.attributionControl.setPrefix(false);
        if (st.cfg.tiles.ok && st.cfg.tiles.url) {
          L.tileLayer(st.cfg.tiles.url, { subdomains: st.cfg.tiles.subdomains, attribution: st.cfg.tiles.attribution, maxZoom: 18 }).addTo(st.map);
        } else node.classList.add("no-tiles");
        st.layers.districts = L.geoJSON(st.cfg.boundaries, {
          style: (f) => districtStyle(f),
          onEachFeature: (f, layer) => {
            layer.on("click", () => { if (mayOpen(f.properties.adcode)) go(f.properties.adcode, true); });
            if (f.properties.label) L.tooltip({ permanent: true, direction: "center", className: "district-label", interactive: false })
              .setLatLng(f.properties.label).setContent(esc(f.properties.name)).addTo(st.map);
          },
        }).addTo(st.map);
        st.layers.points = L.layerGroup().addTo(st.map);
        st.layers.places = L.layerGroup().addTo(st.map);
        st.map.fitBounds(st.cfg.bounds, { animate: false });
      }
      const scope = st.place.scope;
      if (st.drawn.mapScope !== scope.code) {
        st.drawn.mapScope = scope.code;
        st.layers.districts.setStyle((f) => districtStyle(f));
        const d = st.place.chain.find((p) => p.level === "district");
        const layer = d && st.layers.districts.getLayers().find((l) => l.feature.properties.adcode === d.code);
        st.map.fitBounds(layer ? layer.getBounds() : st.cfg.bounds, { animate: false });
      } else if (s.area_level === "district") {
        st.layers.districts.setStyle((f) => districtStyle(f));
      }
      placeMarkers(s);
    }

    // the places one level down, below the city (no polygons exist for them): a marker each at the
    // middle of its open cases (the places API's `at`), its open cases on it, a tap opens it
    function placeMarkers(s) {
      const L = root.L;
      const rows = Object.fromEntries((s.areas || []).map((a) => [a.code, a]));
      const kids = st.place.scope.level === "city" ? [] : st.place.children.filter((c) => c.at);
      const key = JSON.stringify(kids.map((c) => [c.code, (rows[c.code] || {}).open, (rows[c.code] || {}).red]));
      if (st.drawn.places === key) return;
      st.drawn.places = key;
      st.layers.places.clearLayers();
      for (const c of kids) {
        const row = rows[c.code] || {};
        const icon = L.divIcon({ className: `tb-place${row.red ? " red" : ""}`, iconSize: [48, 48],
                                 html: `<b>${st.lib.fmt(row.open || 0)}</b><span>${esc(c.name)}</span>` });
        const m = L.marker(c.at, { icon, title: c.name, keyboard: false, riseOnHover: true });
        m.on("click", () => go(c.code, true));
        st.layers.places.addLayer(m);
        const node = m.getElement();
        if (node) node.dataset.place = c.code;
      }
    }

    function mayOpen(code) {
      const home = st.cfg.home;
      return home === st.cfg.city.code || code === home;
    }

    function districtStyle(f) {
      const s = st.snap;
      const code = f.properties.adcode;
      const scope = st.place ? st.place.scope : null;
      const chain = st.place ? st.place.chain : [];
      const inside = chain.some((p) => p.code === code);
      let shade = 0;
      if (s && s.area_level === "district") {
        const row = (s.areas || []).find((a) => a.code === code);
        shade = row ? row.shade_by_risk : 0;
      }
      const fills = ["#2f9e62", "#e0a400", "#d93b3b"];
      return { color: inside ? "#1f6feb" : "#7b8794", weight: inside ? 3 : 1,
               fillColor: scope && scope.level !== "city" && !inside ? "#9aa5b1" : fills[shade], fillOpacity: inside || (scope && scope.level === "city") ? 0.35 : 0.08 };
    }

    function casePoints(items) {
      const L = root.L;
      if (!st.map || !L) return;
      st.layers.points.clearLayers();
      for (const c of items) {
        if (c.lat == null || c.lon == null) continue;
        const m = L.circleMarker([c.lat, c.lon], { radius: 9, color: "#fff", weight: 2, fillOpacity: 0.9,
                                                   fillColor: LIGHTS[c.light] || "#5b6b7c" });
        m.on("click", () => showCase(c.case_id, true));
        st.layers.points.addLayer(m);
      }
    }

    // --- cases, the previous period, the emergency -------------------------------------------------

    function loadCases() {
      const code = st.place.scope.code;
      const size = st.cfg.cases_page * st.pages;
      fetchJson(`/api/places/${encodeURIComponent(code)}/cases?order=${st.order}&size=${size}`).then((list) => {
        if (st.place.scope.code !== code) return;
        st.cases = list;
        set(".tb-case-list", caseRowsHtml(list.items, st.lib) || `<li class="tb-empty">${esc(st.lib.tr("tb_no_cases"))}</li>`);
        $(".tb-total").textContent = st.lib.tr("tb_open_n", { n: st.lib.fmt(list.total) });
        $(".tb-more").hidden = list.items.length >= list.total;
        if (st.place.scope.level !== "city") casePoints(list.items);
        else st.layers.points && st.layers.points.clearLayers();
      }).catch((err) => console.warn("pingan: cases", err));
    }

    // the previous period by where it starts: its end moves on with the clock, and it is read again
    // every PREVIOUS_MS
    function prevKey(per) {
      return `${st.place.scope.code}|${st.win.key}|${per.prevStart}`;
    }

    function loadPrevious() {
      const per = st.snap && period(st.snap, st.win);
      if (!per) return;
      const key = prevKey(per);
      const known = st.prev[key];
      if (known && Date.now() - known.at < PREVIOUS_MS) return;
      fetchJson(`/api/history/${encodeURIComponent(st.place.scope.code)}/kpis?start=${per.prevStart}&end=${per.prevEnd}`).then((rows) => {
        const row = rows.find((x) => x.value === "*") || rows[0];
        if (!row) return;
        st.prev[key] = Object.assign({ at: Date.now() }, row.kpis);
        draw();
      }).catch((err) => console.warn("pingan: previous period", err));
    }

    function loadEmergency() {
      const path = st.cfg.alert_board.path;
      if (!path) return;
      const scope = s0();
      fetchJson(`/api/snapshot/${st.cfg.alert_board.snapshot}?scope=${encodeURIComponent(scope)}`).then((em) => {
        st.em = em;
        const html = emergencyHtml(em, st.lib, path, scope);
        $(".tb-emergency").hidden = !html;
        if (html) set(".tb-emergency", html);
      }).catch(() => { /* no emergency picture yet: nothing to show */ });
    }

    // --- a case in a drawer --------------------------------------------------------------------------

    function showCase(id, push) {
      const drawer = $(".tb-drawer");
      if (!drawer) return;
      if (!id) {
        drawer.hidden = true;
        st.caseOpen = null;
        return;
      }
      if (push) {
        const q = new URLSearchParams(root.location.search);
        q.set("case", id);
        root.history.pushState({ scope: st.place && st.place.scope.code, case: id }, "", `${PATH}?${q.toString()}`);
      }
      st.caseOpen = id;
      drawer.hidden = false;
      $(".tb-life").innerHTML = `<p class="tb-empty">…</p>`;
      fetchJson(`/api/cases/${encodeURIComponent(id)}`).then((life) => {
        if (st.caseOpen !== id) return;
        const names = Object.fromEntries([...(st.place ? st.place.chain : []), ...(st.place ? st.place.children : [])]
          .map((p) => [p.code, p.name]));
        $(".tb-life").innerHTML = lifeHtml(life, st.lib, names);
        miniMap(life.case);
      }).catch((err) => { $(".tb-life").innerHTML = `<p class="tb-empty">${esc(err.message)}</p>`; });
    }

    function miniMap(c) {
      const L = root.L;
      const node = $(".tb-minimap");
      if (!L || !node || c.lat == null) return;
      const m = L.map(node, { dragging: false, touchZoom: true, scrollWheelZoom: false, zoomControl: true, attributionControl: false })
        .setView([c.lat, c.lon], st.cfg.tiles.ok ? 14 : 11); // without tiles: enough to see the district's outline
      if (st.cfg.tiles.ok && st.cfg.tiles.url) L.tileLayer(st.cfg.tiles.url, { subdomains: st.cfg.tiles.subdomains, maxZoom: 18 }).addTo(m);
      else L.geoJSON(st.cfg.boundaries, { style: { color: "#7b8794", weight: 1, fillOpacity: 0.05 } }).addTo(m);
      L.circleMarker([c.lat, c.lon], { radius: 10, color: "#fff", weight: 2, fillOpacity: 0.9, fillColor: LIGHTS[c.light] || "#5b6b7c" }).addTo(m);
    }

    function closeCase() {
      if (new URLSearchParams(root.location.search).get("case") && root.history.state && root.history.state.case) root.history.back();
      else {
        const q = new URLSearchParams(root.location.search);
        q.delete("case");
        root.history.replaceState(root.history.state, "", `${PATH}?${q.toString()}`);
        showCase(null, false);
      }
    }

    // --- once a second: the clock, the banner, a dead stream reopened -----------------------------------

    function tick() {
      const now = Date.now();
      if (st.es && st.place && (st.es.readyState === 2 || now - st.heardAt > QUIET_REOPEN_MS) && navigator.onLine) {
        st.heardAt = now;
        open();
      }
      const lib = st.lib;
      const speed = st.snap && st.snap.clock && st.snap.clock.speed;
      const t = st.snap ? st.snap.as_of + (now - st.snapAt) * (speed || 1) : now;
      $(".tb-clock").textContent = lib.bj(t, "time");
      // the previous periods come from the archive: while history is still being written, say so
      const h = st.snap && st.snap.history;
      $(".tb-history").textContent = h && h.state === "loading"
        ? " · " + lib.tr("history_loading", { d: Math.floor(h.done_days), n: Math.round(h.days) }) : "";
      const text = bannerText(st, now, lib);
      const b = $(".tb-banner");
      b.hidden = !text;
      b.textContent = text;
      b.classList.toggle("offline", text.startsWith(lib.tr("tb_offline")));
      doc.documentElement.classList.toggle("tb-offline", !!text && b.classList.contains("offline"));
    }
  }

  return { PATH, period, delta, ranked, crumbs, arrival, crumbsHtml, nowHtml, kpisHtml, rankHtml, caseRowsHtml, lifeHtml,
           emergencyHtml, bannerText, start };
});
