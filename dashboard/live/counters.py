"""Reading the live state's counters, for every snapshot builder: window sums added up inside Redis
(a bounded number of hourly and daily buckets whatever the history), SLA clocks counted by light at
one instant, and the names of categories.
"""

from __future__ import annotations

from collections.abc import Mapping

from dashboard.contract.event import CATEGORY_ZH, Category

# counts every SLA clock key: ARGV now, now + 1 h; per key: total, yellow-or-red, red, due within 1 h
COUNT_CLOCKS = """
local out = {}
for i = 1, #KEYS, 2 do
  local due, warn = KEYS[i], KEYS[i + 1]
  out[#out + 1] = redis.call('ZCARD', due)
  out[#out + 1] = redis.call('ZCOUNT', warn, '-inf', ARGV[1])
  out[#out + 1] = redis.call('ZCOUNT', due, '-inf', ARGV[1])
  out[#out + 1] = redis.call('ZCOUNT', due, '(' .. ARGV[1], ARGV[2])
end
return out
"""

# sums hashes field by field: KEYS the hashes, ARGV[1] a field prefix ('' for every field)
SUM_SCRIPT = """
local acc, order, p = {}, {}, ARGV[1]
local lp = #p
for _, k in ipairs(KEYS) do
  local h = redis.call('HGETALL', k)
  for i = 1, #h, 2 do
    local f = h[i]
    if lp == 0 or string.sub(f, 1, lp) == p then
      local v = acc[f]
      if v == nil then order[#order + 1] = f; acc[f] = tonumber(h[i + 1])
      else acc[f] = v + tonumber(h[i + 1]) end
    end
  end
end
local out = {}
for _, f in ipairs(order) do
  if acc[f] ~= 0 then out[#out + 1] = f; out[#out + 1] = tostring(acc[f]) end
end
return out
"""

# one field of each hash, in KEYS order (0 where a hash or its field is missing): ARGV[1] the field
FIELD_SERIES = """
local out = {}
for i, k in ipairs(KEYS) do
  out[i] = tonumber(redis.call('HGET', k, ARGV[1]) or '0')
end
return out
"""


def pairs(flat: list[bytes]) -> dict[str, int]:
    """A script's flat [field, count, …] reply as a dict."""
    return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}


def ints(h: Mapping[bytes, bytes]) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in h.items()}


def category_name(value: str, lang: str = "zh") -> str:
    if lang == "en":
        return value.replace("_", " ")
    try:
        return CATEGORY_ZH[Category(value)]
    except ValueError:
        return value
