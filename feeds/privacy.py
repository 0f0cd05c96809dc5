"""Masking of personal data at ingest: phone numbers, resident ID numbers, e-mail and names.

Applied to every string of an event and to the raw copy kept with a reject, before anything is
written to Redis or a log. Masking keeps enough to tell records apart on a screen
(``138****5678``, ``440703********1234``, ``张*``) and nothing more.
"""

from __future__ import annotations

import re
from typing import Any

# One alternation, one scan per string: masking runs on every text field of every event.
_PII_RE = re.compile(
    # 18-digit resident ID (GB 11643) and legacy 15-digit ones, not inside a longer alphanumeric run
    r"(?P<id>(?<![0-9A-Za-z])\d{6}(?:\d{8}|\d{6})\d{3}[\dXx]?(?![0-9A-Za-z]))"
    # mainland mobiles, with optional +86 / 86 and separators
    r"|(?P<mobile>(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d))"
    # fixed lines with an area code: 0750-3501234, (0750)3501234, 020 12345678
    r"|(?P<land>(?<!\d)\(?0\d{2,3}\)?[- ]?\d{7,8}(?!\d))"
    r"|(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})"
    # names announced in free text: "联系人：张三", "报警人 李四", "caller: Li Si"
    r"|(?P<named>(?:联系人|姓名|来电人|报警人|求助人|投诉人|反映人|当事人|申请人|caller|name)(?:\s*[:：]\s*|\s+)"
    r"(?:[\u4e00-\u9fff]{2,4}|[A-Z][a-z]+(?: [A-Z][a-z]+)?))",
    re.IGNORECASE,
)
_NAME_TAIL = re.compile(r"([\u4e00-\u9fff]{2,4}|[A-Z][a-z]+(?: [A-Z][a-z]+)?)$", re.IGNORECASE)
_QUICK = re.compile(r"\d{7}|\d{3}[- ]\d{4}|@|联系人|姓名|来电人|报警人|求助人|投诉人|反映人|当事人|申请人|caller|name",
                    re.IGNORECASE)

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


def _sub(m: re.Match[str]) -> str:
    t, kind = m.group(0), m.lastgroup
    if kind == "id":
        return t[:6] + "*" * (len(t) - 10) + t[-4:]
    if kind == "mobile":
        digits = [i for i, c in enumerate(t) if c.isdigit()]
        start = digits[-11]  # the 11-digit number after any +86 prefix and separators
        number = "".join(t[i] for i in digits[-11:])
        return f"{t[:start]}{number[:3]}****{number[-4:]}"
    if kind == "land":
        return _star_digits(t, len(re.match(r"\(?0\d{2,3}", t).group(0).strip("(")), 4)  # type: ignore[union-attr]
    if kind == "email":
        return t[0] + "***" + t[t.index("@"):]
    name = _NAME_TAIL.search(t)
    return t[: name.start()] + mask_name(name.group(0)) if name else t


def mask_text(text: str) -> str:
    """Mask every phone number, ID number, e-mail address and announced name in free text."""
    if not text or not _QUICK.search(text):
        return text
    return _PII_RE.sub(_sub, text)


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
