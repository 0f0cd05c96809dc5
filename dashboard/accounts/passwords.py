"""Passwords: Argon2id hashes (the `password_hash_*` settings) and the policy a new password must meet."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2-cffi's defaults (RFC 9106's low-memory profile: 64 MiB, t=3, p=4)
CLASSES = ("lower-case letters", "upper-case letters", "digits", "other characters")
T = TypeVar("T")


def _off_the_loop(fn: Callable[..., T], *args: object) -> T:
    """Argon2 lets go of the GIL but not of gevent's loop: in a gevent web worker (decision 035) a hash
    runs on the hub's native threads, so the worker's other requests, its open push streams among them,
    go on meanwhile (a login held them ~100 ms; known issue 76). Anywhere else, here and now."""
    if "gevent.monkey" in sys.modules:
        from gevent import get_hub, monkey

        if monkey.is_module_patched("threading"):
            return get_hub().threadpool.apply(fn, args)
    return fn(*args)


class PasswordPolicyError(ValueError):
    """A password the policy refuses; the message says why, in words an operator can act on."""


def hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    """Argon2id with these costs (settings ``password_hash_*``; a hash carries its own, so a change
    takes effect as each account next logs in)."""
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism)


def hash_password(password: str, with_: PasswordHasher = _HASHER) -> str:
    return _off_the_loop(with_.hash, password)


def verify(stored_hash: str, password: str) -> bool:
    """Whatever costs the hash was made with (they are in it)."""
    try:
        return _off_the_loop(_HASHER.verify, stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, with_: PasswordHasher = _HASHER) -> bool:
    return with_.check_needs_rehash(stored_hash)


def _classes(password: str) -> set[str]:
    found = set()
    for ch in password:
        if ch.islower():
            found.add(CLASSES[0])
        elif ch.isupper():
            found.add(CLASSES[1])
        elif ch.isdigit():
            found.add(CLASSES[2])
        else:
            found.add(CLASSES[3])
    return found


def check_policy(password: str, name: str, min_length: int, min_classes: int, recent: Iterable[str] = ()) -> None:
    """Raise :class:`PasswordPolicyError` unless ``password`` is long enough, mixes enough character classes,
    does not contain the account's name and is none of the ``recent`` hashes' passwords."""
    password = unicodedata.normalize("NFC", password)
    if len(password) < min_length:
        raise PasswordPolicyError(f"at least {min_length} characters (this one has {len(password)})")
    if any(unicodedata.category(ch).startswith("C") for ch in password):
        raise PasswordPolicyError("no control characters")
    have = _classes(password)
    if len(have) < min_classes:
        missing = ", ".join(c for c in CLASSES if c not in have)
        raise PasswordPolicyError(f"characters of at least {min_classes} of: {', '.join(CLASSES)} "
                                  f"(missing: {missing})")
    if name and name.casefold() in password.casefold():
        raise PasswordPolicyError("must not contain the account's name")
    if any(verify(h, password) for h in recent):
        raise PasswordPolicyError("must differ from the account's recent passwords")
