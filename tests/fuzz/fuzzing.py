"""Shared pieces of the property-based form tests (tests/fuzz/test_fuzz_*.py).

Each test gets its personas once (function-scoped fixtures) and runs every example in a
savepoint that is rolled back, so examples do not see each other's rows or rate-limit
counters. Under CI the examples are derandomised (a fixed seed) so a run is repeatable;
set DYAD_FUZZ_EXAMPLES for a longer run.
"""

from __future__ import annotations

import contextlib
import datetime
import os

from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

_COMMON = {
    "deadline": None,
    "derandomize": bool(os.environ.get("CI")),
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
# Whole requests through the middleware (~0.1-0.3 s each): few examples, so each file stays
# near 30 s; DYAD_FUZZ_EXAMPLES=200 (say) digs deeper. Forms and the answer parser on
# their own take milliseconds: five times as many. FUZZ_FEW is for pages that are slow
# to render (dashboards, analytics, exports) or forms with few fields.
_EXAMPLES = int(os.environ.get("DYAD_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=_EXAMPLES, **_COMMON)
FUZZ_FEW = settings(max_examples=max(1, _EXAMPLES // 2), **_COMMON)
FUZZ_FAST = settings(max_examples=5 * _EXAMPLES, **_COMMON)

# Any text a browser could send (no lone surrogates: they cannot be encoded), with NULs,
# control characters, right-to-left marks and so on.
any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
any_int = st.integers(min_value=-(10**20), max_value=10**20).map(str)
# What found server errors before, drawn on purpose (random text rarely holds them): NUL
# bytes, which PostgreSQL refuses in text, and digits of other scripts ("１", "٣"), which
# str.isdigit() and int() accept but URL patterns and the database do not.
with_nul = st.builds(lambda head, tail: f"{head}\x00{tail}", any_text, any_text)
other_digits = st.text(
    alphabet=st.characters(categories=["Nd"], exclude_characters="0123456789"),
    min_size=1,
    max_size=6,
)
any_value = st.one_of(any_text, any_int, st.just(""), with_nul, other_digits)
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def date_or_garbage(around: datetime.date) -> st.SearchStrategy[str]:
    near = st.dates(
        min_value=around - datetime.timedelta(days=200),
        max_value=around + datetime.timedelta(days=60),
    )
    return st.one_of(near.map(datetime.date.isoformat), st.dates().map(str), any_value)


def pk_or_garbage(pks: list[int]) -> st.SearchStrategy[str]:
    """One of these primary keys (as a form sends it), the same in full-width digits, or
    anything else."""
    keys = st.sampled_from([str(pk) for pk in pks])
    return st.one_of(keys, keys.map(lambda key: key.translate(_FULL_WIDTH)), any_value)


@contextlib.contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
