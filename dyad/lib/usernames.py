"""Usernames that cannot pass for a colleague's (Unicode UTS #39, through ICU).

A staff list or a sign-in audit row shows usernames, so "аdmin" (Cyrillic а) next to
"admin" is an impersonation. ICU's spoof checker, the reference implementation of UTS #39,
decides both rules:

- a username uses only characters of the Unicode identifier profile ("recommended" set)
  plus . @ + - _, in one script (a Latin word with one Cyrillic letter is refused), with no
  invisible characters and digits of one system; so "ᴀdmin" (small capital A, not in the
  profile) is refused whatever else exists;
- it must not share its *skeleton* with an existing username: the UTS #39 skeleton maps
  look-alikes to one prototype ("rn" and "m", "0" and "O", "I" and "l"), compared here
  case-insensitively and with combining marks dropped, so "İadmin" and "iadmin", or "josé"
  and "jose", count as the same name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import icu

_SKELETONS = icu.SpoofChecker()


def _profile_checker() -> icu.SpoofChecker:
    checker = icu.SpoofChecker()
    allowed = icu.UnicodeSet()
    allowed.addAll(checker.getRecommendedUnicodeSet())
    for character in ".@+-_":
        allowed.add(character)
    allowed.freeze()
    checker.setAllowedUnicodeSet(allowed)
    checker.setRestrictionLevel(icu.URestrictionLevel.HIGHLY_RESTRICTIVE)
    checker.setChecks(
        icu.USpoofChecks.RESTRICTION_LEVEL
        | icu.USpoofChecks.CHAR_LIMIT
        | icu.USpoofChecks.INVISIBLE
        | icu.USpoofChecks.MIXED_NUMBERS
    )
    return checker


_PROFILE = _profile_checker()


def _shape(text: str) -> str:
    shape = unicodedata.normalize("NFD", _SKELETONS.getSkeleton(0, text)).casefold()
    return "".join(c for c in shape if not unicodedata.combining(c))


def skeletons(username: str) -> tuple[str, str]:
    """The UTS #39 skeleton, case-folded and without combining marks, of the name folded
    first ("ADMIN" is "admin") and as typed ("I" and "l" share a prototype, "i" does not)."""
    name = unicodedata.normalize("NFKC", username)
    return _shape(name.casefold()), _shape(name)


def is_plain(username: str) -> bool:
    """Characters of the identifier profile, one script, nothing invisible."""
    return _PROFILE.check(username) == 0


def looks_like_any(username: str, existing: Iterable[str]) -> bool:
    folded, typed = skeletons(username)
    for other in existing:
        other_folded, other_typed = skeletons(other)
        if folded == other_folded or typed == other_typed:
            return True
    return False
