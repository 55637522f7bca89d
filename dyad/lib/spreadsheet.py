"""The one rule for every CSV Dyad writes: no cell is a formula when opened in a spreadsheet.

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` (and
some read a leading tab or carriage return the same way) as a formula, which can fetch
URLs or run commands ("CSV injection", OWASP). Such text cells get a leading apostrophe,
which spreadsheets hide; numbers and dates are written as they are.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
