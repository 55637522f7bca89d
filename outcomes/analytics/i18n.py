"""Translation hooks for the pure modules (standard library only, no Django).

The analytics package and the pure reports (`outcomes.reports.team`, `.dyad`, `.figures`)
word their sentences with `_` and `ngettext` from here. By default these return the English text
unchanged, so the modules run and test without Django; `OutcomesConfig.ready()` installs
Django's `gettext` / `ngettext`, after which every call is translated into the language active
at that moment (the translator is looked up on each call, never at import).

Module-level constants are marked with `gettext_noop` (so `makemessages` finds them) and
translated with `_` where they are used. Write whole sentences with named placeholders,
`_("%(label)s fell from %(before)s …") % {...}`, never sentences glued from fragments.
"""

from __future__ import annotations

from collections.abc import Callable

Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]


def _identity(message: str) -> str:
    return message


def _english_plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


_translator: tuple[Gettext, Ngettext] = (_identity, _english_plural)


def install(gettext: Gettext, ngettext: Ngettext) -> tuple[Gettext, Ngettext]:
    """Use these functions from now on; returns the previous pair (to restore it)."""
    global _translator
    previous = _translator
    _translator = (gettext, ngettext)
    return previous


def uninstall() -> None:
    """Back to the untranslated English default."""
    install(_identity, _english_plural)


def installed() -> tuple[Gettext, Ngettext]:
    return _translator


def _(message: str) -> str:
    """`message` translated into the active language."""
    return _translator[0](message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, translated into the active language."""
    return _translator[1](singular, plural, n)


def gettext_noop(message: str) -> str:
    """Mark a constant for translation without translating it (translate it where used)."""
    return message
