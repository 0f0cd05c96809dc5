"""Masking of personal data at ingest: phone numbers, resident ID numbers, e-mail and names.

Applied to every string of an event and to the raw copy kept with a reject, before anything is
written to Redis or a log. Masking keeps enough to tell records apart on a screen
(``138****5678``, ``440703********1234``, ``张*``) and nothing more.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Final

# Masking runs on every text field of every event, so it is built for speed: a cheap scan finds
# runs of digits (a character-class prefix lets the regex engine skip ahead), and only those short
# runs are classified; names are looked for only after an announcing word.
_RUN = re.compile(r"[+(\d][\d()\- +]{5,}[\dXx]")
_RUN_MIN = 7  # characters in the shortest run
_NUMBERS_RE = re.compile(
    # 18-digit resident ID (GB 11643) and legacy 15-digit ones, not inside a longer alphanumeric run
    r"(?P<id>(?<![0-9A-Za-z])\d{6}(?:\d{8}|\d{6})\d{3}[\dXx]?(?![0-9A-Za-z]))"
    # mainland mobiles, with optional +86 / 86 and separators
    r"|(?P<mobile>(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d))"
    # fixed lines with an area code: 0750-3501234, (0750)3501234, 020 12345678
    r"|(?P<land>(?<!\d)\(?0\d{2,3}\)?[- ]?\d{7,8}(?!\d))"
)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# names announced in free text: "联系人：张三", "报警人 李四", "caller: Li Si", and glued on as in
# "报警人张三称…" when a verb or punctuation closes the name (so "来电人反映小区…" is left alone)
# (letters spelt out: quicker than re.IGNORECASE, and no other character folds to these letters,
# and every branch starting with a plain character, so the engine skips ahead to the candidates)
_WORDS = re.compile(
    r"联系人|姓名|来电人|报警人|求助人|投诉人|反映人|当事人|申请人"
    r"|C[Aa][Ll][Ll][Ee][Rr]|c[Aa][Ll][Ll][Ee][Rr]|N[Aa][Mm][Ee]|n[Aa][Mm][Ee]"
)
# A character-class scan is several times quicker than the searches it gates: a text holding
# nothing that can start a number (digit, '+', '('), an e-mail ('@') or an announcing word (their
# first letters) is returned as it came.
_GATE = re.compile(r"[\d+(@联姓来报求投反当申CcNn]")
_AFTER_WORD = re.compile(r"(\s*[:：]\s*|\s+)?([\u4e00-\u9fff]{2,4}|[A-Z][a-z]+(?: [A-Z][a-z]+)?)")
_NOT_NAMES = ("手机", "电话", "号码", "身份", "住址", "地址")
_NAME_ENDS = ("称", "报称", "反映", "来电", "说", "表示", "诉", "，", ",", "。", "；", ";", " ", "\t", "\n")
_NAME_END_FIRST = frozenset(end[0] for end in _NAME_ENDS)
# Where _mask_named would mask anything: an announcing word, then a separator and the start of a
# name, or two to four glued-on Chinese characters that something not Chinese or the first
# character of a name ending follows. Most texts with a word ("来电人反映小区…") have neither, and
# this one scan spares them the step by step walk.
_NAMED_HINT = re.compile(
    f"(?:{_WORDS.pattern})"
    r"(?:(?:\s*[:：]\s*|\s+)(?:[\u4e00-\u9fff]{2}|[A-Z][a-z])"
    r"|[\u4e00-\u9fff]{2,4}(?=[^\u4e00-\u9fff]|["
    + "".join(sorted(c for c in _NAME_END_FIRST if "\u4e00" <= c <= "\u9fff"))
    + "]))"
)


def _glued_name(text: str, start: int, name: str) -> int:
    """Length of a name glued to its keyword ("报警人张三称"), or 0 when it is not one."""
    if name.startswith(_NOT_NAMES) or not "\u4e00" <= name[0] <= "\u9fff":
        return 0
    for n in range(min(len(name), 4), 1, -1):  # the longest name that a digit or an ending closes
        after = text[start + n : start + n + 1]
        if after.isdigit() or (after in _NAME_END_FIRST and text.startswith(_NAME_ENDS, start + n)):
            return n
    return 0


def _mask_named(text: str) -> str:
    out, pos = [], 0
    for w in _WORDS.finditer(text):
        if w.start() < pos:
            continue
        m = _AFTER_WORD.match(text, w.end())
        if not m:
            continue
        name_at, name = m.start(2), m.group(2)
        n = len(name) if m.group(1) else _glued_name(text, name_at, name)
        if n:
            out.append(text[pos:name_at] + mask_name(name[:n]))
            pos = name_at + n
    out.append(text[pos:])
    return "".join(out)


NAME_KEYS = frozenset(
    {"name", "caller", "caller_name", "callername", "contact", "contact_name", "reporter", "reporter_name",
     "first_name", "last_name", "applicant", "complainant", "petitioner", "联系人", "姓名", "来电人"}
)


def _star_digits(text: str, keep_head: int, keep_tail: int) -> str:
    """Replace the digits of ``text`` with '*' except the first ``keep_head`` and last ``keep_tail``."""
    n = sum(c.isdigit() for c in text)
    out, seen = [], 0
    for c in text:
        if c.isdigit():
            seen += 1
            if keep_head < seen <= n - keep_tail:
                out.append("*")
                continue
        out.append(c)
    return "".join(out)


def _number_sub(m: re.Match[str]) -> str:
    t, kind = m.group(0), m.lastgroup
    if kind == "id":
        return t[:6] + "*" * (len(t) - 10) + t[-4:]
    if kind == "mobile":
        digits = [i for i, c in enumerate(t) if c.isdigit()]
        start = digits[-11]  # the 11-digit number after any +86 prefix and separators
        number = "".join(t[i] for i in digits[-11:])
        return f"{t[:start]}{number[:3]}****{number[-4:]}"
    area = len(re.match(r"\(?0\d{2,3}", t).group(0).lstrip("("))  # type: ignore[union-attr]
    return _star_digits(t, area, 4)


_MOBILE_SECOND = frozenset("3456789")


def _mask_run(m: re.Match[str]) -> str:
    return _mask_number(m.group(0))


def _mask_number(run: str) -> str:
    if run.isdigit():  # the common shapes, sliced directly
        n = len(run)
        if n == 11 and run[0] == "1" and run[1] in _MOBILE_SECOND:
            return f"{run[:3]}****{run[7:]}"
        if n in (15, 18):
            return run[:6] + "*" * (n - 10) + run[-4:]
    return _NUMBERS_RE.sub(_number_sub, run)


CACHED_MAX_CHARS = 64  # longer texts (descriptions) rarely repeat
CACHE_SIZE = 8192  # masked short texts kept


def mask_text(text: str) -> str:
    """Mask every phone number, ID number, e-mail address and announced name in free text."""
    # only an exact str is cached: an equal str subclass (a StrEnum member) must come back as itself
    if text.__class__ is str and len(text) <= CACHED_MAX_CHARS:
        return _mask_short(text)
    return _mask_text(text)


# Short texts repeat heavily in real feeds (departments, addresses, service names, statuses, grid
# names), so their masked forms are kept.
@lru_cache(maxsize=CACHE_SIZE)
def _mask_short(text: str) -> str:
    return _mask_text(text)


# Texts longer than this skip the gates: a description nearly always holds a digit or a gate letter
# (c, n, 来, 报, …), so the gates would only add their own scans.
_GATED_MAX: Final = 32


def _mask_text(text: str) -> str:
    if not text:
        return text
    if len(text) <= _GATED_MAX:
        if text.isalpha():  # letters only (most names, places, departments): only an announced name
            return text if _NAMED_HINT.search(text) is None else _mask_named(text)
        if text.isdecimal():  # digits only: one run of digits when long enough for a number, else nothing
            return text if len(text) < _RUN_MIN else _mask_number(text)
        if _GATE.search(text) is None:
            return text
    if len(text) >= _RUN_MIN:
        text = _RUN.sub(_mask_run, text)
    if "@" in text:
        text = _EMAIL_RE.sub(lambda m: m.group(0)[0] + "***" + m.group(0)[m.group(0).index("@"):], text)
    if _NAMED_HINT.search(text) is not None:
        text = _mask_named(text)
    return text


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳小明 -> 欧***, John Smith -> J*** S****."""
    name = name.strip()
    if not name:
        return name
    if name.isascii():
        return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())
    return name[0] + "*" * (len(name) - 1)


def mask_value(value: Any, key: str | None = None) -> Any:
    """Mask recursively; values under a name-like key are masked as names."""
    if isinstance(value, str):
        if key is not None and key.lower() in NAME_KEYS:
            return mask_name(value)
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, key) for v in value]
    return value


def masked_traceback(exc: BaseException) -> str:
    """A traceback for the log with personal data masked: exception texts can quote record content."""
    import traceback

    return mask_text("".join(traceback.format_exception(exc)))
