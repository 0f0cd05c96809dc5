"""Masking of personal data at ingest: phone numbers, resident ID numbers, e-mail and names.

Applied to every string of an event and to the raw copy kept with a reject, before anything is
written to Redis or a log. Masking keeps enough to tell records apart on a screen
(``138****5678``, ``440703********1234``, ``张*``) and nothing more.
"""

from __future__ import annotations

import re
from typing import Any

# 18-digit resident ID (GB 11643), 15-digit legacy ones too; not inside a longer digit run.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8}|\d{6})(\d{3}[\dXx]|\d{3})(?![0-9A-Za-z])")
# Mainland mobiles with optional +86 / 86 / spacing; not inside a longer digit run.
_MOBILE_RE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Fixed lines with an area code: 0750-3501234, (0750)3501234, 020 12345678.
_LANDLINE_RE = re.compile(r"(?<!\d)(\(?0\d{2,3}\)?[- ]?)(\d{3,4})(\d{4})(?!\d)")
_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Names announced in free text: "联系人：张三", "报警人 李四", "caller: Li Si".
_NAMED_RE = re.compile(
    r"((?:联系人|姓名|来电人|报警人|求助人|投诉人|反映人|当事人|申请人|caller|name)\s*[:：]?\s*)"
    r"([\u4e00-\u9fff]{2,4}|[A-Z][a-z]+(?: [A-Z][a-z]+)?)",
    re.IGNORECASE,
)

NAME_KEYS = frozenset(
    {"name", "caller", "caller_name", "callername", "contact", "contact_name", "reporter", "reporter_name",
     "first_name", "last_name", "applicant", "complainant", "petitioner", "联系人", "姓名", "来电人"}
)


def _id_sub(m: re.Match[str]) -> str:
    return f"{m.group(1)}{'*' * len(m.group(2))}{m.group(3)[-4:].rjust(len(m.group(3)), '*')}"


def mask_text(text: str) -> str:
    """Mask every phone number, ID number, e-mail address and announced name in free text."""
    if not text:
        return text
    text = _ID_RE.sub(_id_sub, text)
    text = _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE_RE.sub(lambda m: f"{m.group(1)}{'*' * len(m.group(2))}{m.group(3)}", text)
    text = _EMAIL_RE.sub(r"\1***\2", text)
    return _NAMED_RE.sub(lambda m: m.group(1) + mask_name(m.group(2)), text)


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
