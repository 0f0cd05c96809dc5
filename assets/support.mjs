// What the renderers' unit tests share: the browser scripts loaded as CommonJS, the fixtures the
// Python builders wrote (assets/boards/fixtures/, see tests/board_fixtures.py), and small readers of
// an update list ([id, prop, value(, key)]). Not a test itself (node --test does not pick it up);
// the web app tells Dash not to serve *.mjs to the boards (dashboard/web/app.py).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

export const format = require("./format.js");
export const core = require("./pingan.js");
export const wall = require("./boards/wall.js");
export const emergency = require("./boards/emergency.js");
export const tablet = require("./boards/tablet.js");

// a fixture, fresh each call (tests may change their copy)
export function fixture(name) {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`./boards/fixtures/${name}.json`, import.meta.url)), "utf8"));
}

// a snapshot, its page config and the lib the renderers receive (at a 16 px root font)
export function board(name) {
  const frame = fixture(`${name}.frame`);
  return { snap: fixture(name), frame, lib: format.lib(frame, 16) };
}

// every id the page declares: the string leaves of config.ids, however deep
export function declaredIds(ids) {
  const out = new Set();
  (function walk(x) {
    if (typeof x === "string") out.add(x);
    else if (x && typeof x === "object") Object.values(x).forEach(walk);
  })(ids);
  return out;
}

// the value an update list leaves on (id, prop): the last one set wins, as on the page
export function value(updates, id, prop) {
  const hits = updates.filter((u) => u[0] === id && u[1] === prop);
  if (!hits.length) throw new Error(`no update for ${id}.${prop}`);
  return hits[hits.length - 1][2];
}

// the same, as an object {prop: value} of everything set on one id
export function props(updates, id) {
  const out = {};
  for (const [i, p, v] of updates) if (i === id) out[p] = v;
  return out;
}
