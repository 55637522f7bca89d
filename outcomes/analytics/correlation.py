"""Pearson correlations with Fisher-z confidence intervals.

For n complete pairs with sample correlation r:

    z      = atanh(r) = ½·ln[(1 + r)/(1 − r)]
    SE(z)  = 1/√(n − 3)
    CI     = tanh(z ± z_crit·SE(z)),   z_crit = Φ⁻¹((1 + confidence)/2)
    t      = r·√[(n − 2)/(1 − r²)],    p = 2·P(T_{n−2} > |t|)

The interval is the one `scipy.stats.pearsonr(...).confidence_interval()` returns; the p value is
the usual two-sided test of ρ = 0. Every function refuses to give a number below its minimum n
(default 4) or when a series does not vary, and says why in plain English instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .i18n import _, ngettext

MIN_SESSIONS = 4

# The Fisher-z interval divides by √(n − 3), so nothing below 4 pairs can ever be allowed.
_ABSOLUTE_MIN_N = 4

ArrayLike = Sequence[float] | np.ndarray | pd.Series
# Words the refusal below the minimum: (pairs found, pairs needed) -> a whole sentence.
TooFew = Callable[[int, int], str]


@dataclass(frozen=True)
class Correlation:
    """A correlation with its n, or the reason there is no number.

    `r`, `ci_low`, `ci_high` and `p` are all None exactly when `reason` is set.
    """

    n: int
    r: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p: float | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.r is not None

    @property
    def degenerate(self) -> bool:
        """|r| = 1: every point lies on one line. The Fisher-z interval then collapses onto r
        (atanh(±1) is infinite), so it shows no uncertainty at all, although a perfect line
        through a handful of sessions is exactly what chance often gives: such a result is
        not informative, and pages say so instead of printing "95% CI [1.00, 1.00]"."""
        return self.r is not None and abs(self.r) >= 1.0


def _check_min_n(min_n: int) -> None:
    if min_n < _ABSOLUTE_MIN_N:
        raise ValueError(f"min_n must be at least {_ABSOLUTE_MIN_N}: the Fisher-z CI needs n > 3")


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")


def too_few_paired_sessions(n: int, min_n: int) -> str:
    return ngettext(
        "%(n)d paired session; at least %(min)d are needed",
        "%(n)d paired sessions; at least %(min)d are needed",
        n,
    ) % {"n": n, "min": min_n}


def too_few_consecutive_pairs(n: int, min_n: int) -> str:
    return ngettext(
        "%(n)d consecutive-session pair; at least %(min)d are needed",
        "%(n)d consecutive-session pairs; at least %(min)d are needed",
        n,
    ) % {"n": n, "min": min_n}


def scores_of(name: str) -> str:
    """How a refusal names a series of scores: "RRI-C:total scores"."""
    return _("%(name)s scores") % {"name": name}


def _describe(values: ArrayLike, fallback: str) -> str:
    name = getattr(values, "name", None)
    return scores_of(name) if isinstance(name, str) and name else fallback


def fisher_ci(
    r: float | np.ndarray, n: int | np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Fisher-z interval tanh(atanh(r) ± z_crit/√(n − 3)); works element-wise on arrays."""
    z_crit = stats.norm.ppf((1 + confidence) / 2)
    r_arr = np.asarray(r, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    # |r| = 1 gives atanh = ±inf and tanh(±inf) = ±1: the interval collapses onto r, which is
    # the right limit, so the divide-by-zero warning is noise here.
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.arctanh(r_arr)
        half = z_crit / np.sqrt(n_arr - 3)
        return np.tanh(z - half), np.tanh(z + half)


def _t_test_p(r: float, n: int) -> float:
    if abs(r) >= 1:
        return 0.0
    t = r * np.sqrt((n - 2) / (1 - r * r))
    return float(2 * stats.t.sf(abs(t), n - 2))


def pearson_with_ci(
    x: ArrayLike,
    y: ArrayLike,
    *,
    min_n: int = MIN_SESSIONS,
    confidence: float = 0.95,
    too_few: TooFew = too_few_paired_sessions,
    names: tuple[str, str] | None = None,
) -> Correlation:
    """Pearson r of x and y over complete pairs, with a Fisher-z CI and a t-test p value.

    r = Σ(x − x̄)(y − ȳ) / √[Σ(x − x̄)²·Σ(y − ȳ)²] over pairs where neither value is NaN.
    Refuses (r None, `reason` set) below `min_n` pairs or when either series is constant.
    `too_few(n, min_n)` words the refusal below the minimum ("3 paired sessions; at least 4 are
    needed") and `names` the two series ("relationship scores did not vary, ..."); by default a
    named pandas Series reads "RRI-C:total scores", anything else "the first series".
    Two pandas Series are paired by index (session number), not by position; a repeated
    index is refused. Arrays and lists are paired by position.
    """
    if names is None:
        names = (_describe(x, _("the first series")), _describe(y, _("the second series")))
    _check_min_n(min_n)
    _check_confidence(confidence)
    if isinstance(x, pd.Series) and isinstance(y, pd.Series):
        x, y = _align(x, y)
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError("x and y must be one-dimensional and of equal length")
    keep = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[keep], ya[keep]
    n = int(xa.size)
    if n < min_n:
        return Correlation(n=n, reason=too_few(n, min_n))
    # Exact equality, not a tolerance: real scores are few distinct values, and a near-constant
    # but genuinely varying series still has a defined r.
    for values, name in ((xa, names[0]), (ya, names[1])):
        if np.all(values == values[0]):
            return Correlation(
                n=n, reason=_("%(name)s did not vary, so r is undefined") % {"name": name}
            )
    xm = xa - xa.mean()
    ym = ya - ya.mean()
    r = float(np.clip(np.dot(xm / np.linalg.norm(xm), ym / np.linalg.norm(ym)), -1.0, 1.0))
    low, high = fisher_ci(r, n, confidence)
    return Correlation(n=n, r=r, ci_low=float(low), ci_high=float(high), p=_t_test_p(r, n))


def _align(x: pd.Series, y: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The values of x and y at the index labels both have (an inner join on the index)."""
    if not x.index.is_unique or not y.index.is_unique:
        raise ValueError("the series' index repeats; pair them by a unique index (session)")
    if x.index.equals(y.index):
        return x.to_numpy(dtype=float), y.to_numpy(dtype=float)
    common = x.index.intersection(y.index)
    return x.reindex(common).to_numpy(dtype=float), y.reindex(common).to_numpy(dtype=float)


def _session_values(frame: pd.DataFrame, session_col: str) -> pd.Series:
    if session_col in frame.columns:
        return frame[session_col]
    if session_col in (frame.index.names or []):
        return frame.index.get_level_values(session_col).to_series(index=frame.index)
    raise KeyError(f"{session_col!r} is neither a column nor an index level")


def lag_arrays(
    sessions: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Complete lag-1 pairs of one dyad from arrays aligned with `sessions` (in any order):
    (t, x at t, y at t + 1), sorted by t. Only consecutive session numbers pair: sessions 3
    and 5 (4 missing) give no pair, because 3→5 is a different, longer lag. Raises
    ValueError when a session number repeats."""
    t = np.asarray(sessions, dtype=np.int64)
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    order = np.argsort(t, kind="stable")
    t, xa, ya = t[order], xa[order], ya[order]
    if t.size > 1 and np.any(t[1:] == t[:-1]):
        raise ValueError("session numbers repeat; pass one dyad's frame with one row per session")
    # y at t + 1 where session t + 1 exists (sorted and unique: it is the next row or none).
    nxt = np.searchsorted(t, t + 1)
    found = nxt < t.size
    found[found] = t[nxt[found]] == t[found] + 1
    y_next = np.full(t.size, np.nan)
    y_next[found] = ya[nxt[found]]
    keep = np.isfinite(xa) & np.isfinite(y_next)
    return t[keep], xa[keep], y_next[keep]


def _one_dyad(frame: pd.DataFrame, dyad_col: str = "dyad_id") -> None:
    dyads: pd.Series | pd.Index
    if dyad_col in frame.columns:
        dyads = frame[dyad_col]
    elif dyad_col in (frame.index.names or []):
        dyads = frame.index.get_level_values(dyad_col)
    else:
        return
    if pd.Series(dyads).nunique(dropna=False) > 1:
        raise ValueError(
            "the frame holds several dyads; lagged pairs are formed within one dyad's sessions"
        )


def lagged_pairs(
    frame: pd.DataFrame, x: str, y: str, *, session_col: str = "session_number"
) -> pd.DataFrame:
    """Complete lag-1 pairs of one dyad: columns session (t), x (x at t), y_next (y at t + 1).

    Pairs are formed only when session numbers are consecutive (see `lag_arrays`).
    `session_col` may be a column or an index level (as in `dyad_series` output). A frame
    holding several dyads (a `dyad_id` column or index level with more than one value) is
    refused: one dyad's session 3 must not pair with another's session 4.
    """
    _one_dyad(frame)
    sessions = _session_values(frame, session_col).to_numpy()
    t, xt, y_next = lag_arrays(
        sessions, frame[x].to_numpy(dtype=float), frame[y].to_numpy(dtype=float)
    )
    return pd.DataFrame({"session": t, "x": xt, "y_next": y_next})


def lagged_arrays_correlation(
    sessions: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    names: tuple[str, str],
    min_n: int = MIN_SESSIONS,
    confidence: float = 0.95,
) -> Correlation:
    """`lagged_correlation` on one dyad's arrays (see `lag_arrays`)."""
    _t, xt, y_next = lag_arrays(sessions, x, y)
    return pearson_with_ci(
        xt,
        y_next,
        min_n=min_n,
        confidence=confidence,
        too_few=too_few_consecutive_pairs,
        names=names,
    )


def lagged_correlation(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    session_col: str = "session_number",
    min_n: int = MIN_SESSIONS,
    confidence: float = 0.95,
) -> Correlation:
    """Lag-1 correlation: x at session t against y at session t + 1 (pairs as in
    `lagged_pairs`). One dyad per call."""
    pairs = lagged_pairs(frame, x, y, session_col=session_col)
    return pearson_with_ci(
        pairs["x"].to_numpy(),
        pairs["y_next"].to_numpy(),
        min_n=min_n,
        confidence=confidence,
        too_few=too_few_consecutive_pairs,
        names=(scores_of(x), scores_of(y)),
    )


def grouped_correlations(
    frame: pd.DataFrame,
    group: str,
    x: str,
    y: str,
    *,
    min_n: int = MIN_SESSIONS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per-group Pearson r with Fisher-z CI, computed from group sums in one vectorised pass.

    Per group g over complete pairs: n_g, means x̄_g, ȳ_g, then
    Sxx = Σ(x − x̄_g)², Syy = Σ(y − ȳ_g)², Sxy = Σ(x − x̄_g)(y − ȳ_g) and r = Sxy/√(Sxx·Syy).
    Returns a frame indexed by group (sorted) with columns n, r, ci_low, ci_high; r and the CI
    are NaN for groups with fewer than `min_n` pairs or where x or y is constant. Groups whose
    rows are all incomplete are kept with n = 0.
    """
    _check_min_n(min_n)
    _check_confidence(confidence)
    codes, labels = pd.factorize(frame[group], sort=True)
    n_groups = len(labels)
    xa = frame[x].to_numpy(dtype=float)
    ya = frame[y].to_numpy(dtype=float)
    # Rows with a missing group label get code −1 and are dropped with the incomplete pairs.
    keep = (codes >= 0) & np.isfinite(xa) & np.isfinite(ya)
    g, xa, ya = codes[keep], xa[keep], ya[keep]

    n = np.bincount(g, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_mean = np.bincount(g, xa, minlength=n_groups) / n
        y_mean = np.bincount(g, ya, minlength=n_groups) / n
    # Centre before summing squares: the one-pass Σx² − (Σx)²/n form cancels catastrophically
    # when scores sit far from zero relative to their spread (e.g. 4.20 ± 0.01).
    dx = xa - x_mean[g]
    dy = ya - y_mean[g]
    sxx = np.bincount(g, dx * dx, minlength=n_groups)
    syy = np.bincount(g, dy * dy, minlength=n_groups)
    sxy = np.bincount(g, dx * dy, minlength=n_groups)

    # Constancy is judged by exact min == max, because centred sums of a constant group can be
    # a tiny non-zero rounding residue that would otherwise yield a meaningless r.
    varies = _varies(g, n_groups, xa, ya)
    usable = (n >= min_n) & varies
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(usable, np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0), np.nan)
    low, high = fisher_ci(r, np.where(usable, n, np.nan), confidence)
    index = pd.Index(labels, name=group)
    return pd.DataFrame({"n": n, "r": r, "ci_low": low, "ci_high": high}, index=index)


def _varies(codes: np.ndarray, n_groups: int, *columns: np.ndarray) -> np.ndarray:
    """True for groups in which every column takes at least two values (False for empty)."""
    out = np.zeros(n_groups, dtype=bool)
    if codes.size == 0:
        return out
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    varies = np.ones(starts.size, dtype=bool)
    for values in columns:
        sorted_values = values[order]
        lows = np.minimum.reduceat(sorted_values, starts)
        highs = np.maximum.reduceat(sorted_values, starts)
        varies &= highs > lows
    out[sorted_codes[starts]] = varies
    return out
