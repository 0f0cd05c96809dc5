/* What every renderer formats with: Beijing time, numbers, percentages, escaping, the page's words,
 * and a Plotly figure scaled to the screen. Pure functions, loaded in the browser as
 * window.pingan.format and in Node (the renderers' unit tests) as a CommonJS module.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else (root.pingan = root.pingan || {}).format = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const BASE_PX = 16; // the root font size the server's figures are sized for (dashboard/live/charts.py)
  const BJ = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  // Beijing time of epoch milliseconds: "full" YYYY-MM-DD HH:MM:SS, "time" HH:MM:SS, "hm" HH:MM,
  // "md" MM-DD HH:MM, "dhm" DD日HH:MM (zh) or DD HH:MM (en)
  function bj(ms, part, lang) {
    if (ms == null) return "—";
    const p = {};
    for (const x of BJ.formatToParts(new Date(ms))) p[x.type] = x.value;
    const time = `${p.hour === "24" ? "00" : p.hour}:${p.minute}:${p.second}`;
    switch (part) {
      case "time": return time;
      case "hm": return time.slice(0, 5);
      case "md": return `${p.month}-${p.day} ${time.slice(0, 5)}`;
      case "dhm": return lang === "en" ? `${p.day} ${time.slice(0, 5)}` : `${p.day}日${time.slice(0, 5)}`;
      default: return `${p.year}-${p.month}-${p.day} ${time}`;
    }
  }

  function fmt(n) {
    return n == null ? "—" : Number(n).toLocaleString("zh-CN");
  }

  function pct(v) {
    return v == null ? "—" : Number(v).toFixed(1);
  }

  // the page's words (layouts/i18n.py), with {name} placeholders filled in
  function words(table) {
    return function tr(key, vars) {
      // a word may be deliberately empty (colour.None; "cases" in English): only a missing key falls back
      let s = table && typeof table[key] === "string" ? table[key] : key;
      for (const k in vars || {}) s = s.split(`{${k}}`).join(vars[k]);
      return s;
    };
  }

  // a figure built for a 16 px root font, at this screen's: fonts, margins and line widths scaled
  function scaleFigure(fig, rem) {
    const k = (rem || BASE_PX) / BASE_PX;
    const out = JSON.parse(JSON.stringify(fig || { data: [], layout: {} }));
    const lay = out.layout || (out.layout = {});
    const scale = (o, key) => { if (o && typeof o[key] === "number") o[key] *= k; };
    scale(lay.font, "size");
    for (const side of ["l", "r", "t", "b"]) scale(lay.margin, side);
    for (const tr of out.data || []) {
      scale(tr.line, "width");
      scale(tr.marker, "size");
      scale(tr.textfont, "size");
    }
    return out;
  }

  // everything a renderer needs from the page, in one object (the core builds it; tests too)
  function lib(config, rem) {
    const tr = words(config.text);
    const lang = config.lang;
    return { esc, bj: (ms, part) => bj(ms, part, lang), fmt, pct, tr, lang, rem: rem || BASE_PX,
             figure: (fig) => scaleFigure(fig, rem), category: (code) => ((config.categories || {})[code] || [code, code])[lang === "en" ? 1 : 0] };
  }

  return { BASE_PX, esc, bj, fmt, pct, words, scaleFigure, lib };
});
