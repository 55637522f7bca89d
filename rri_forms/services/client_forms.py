"""Saving a client's forms: everything in one transaction, exactly once."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.models import TherapySession
from dyad.lib import ratelimit
from dyad.lib.rows import columns, fetch_instance
from rri_forms.form_input import ParsedAnswers
from rri_forms.models import ClientLink, Instrument
from rri_forms.selectors import VERSIONS_SQL, instruments_by_ids, link_instruments
from rri_forms.services.recording import (
    AdministrationRows,
    SessionIds,
    administration_rows,
    save_many_rows,
)


class Outcome(Enum):
    SAVED = "saved"
    REPLAYED = "replayed"  # the same submission arrived again: already saved
    CONFLICT = "conflict"  # same submission id, different answers
    USED = "used"  # the link was completed by another submission
    EXPIRED = "expired"
    REVOKED = "revoked"
    INCOMPLETE = "incomplete"
    RATELIMITED = "ratelimited"  # `refusal` says which limit
    UNKNOWN = "unknown"  # no such link


@dataclass(frozen=True)
class SubmitResult:
    outcome: Outcome
    link: ClientLink | None
    refusal: ratelimit.Decision | None = None
    parsed: ParsedAnswers | None = None  # when the service parsed the answers (`parse`)
    also_written: bool = False  # `also_write`'s statement updated its row


def answers_digest(answers: dict[int, dict[int, int]]) -> str:
    canonical = json.dumps(
        {str(k): {str(i): v for i, v in sorted(a.items())} for k, a in sorted(answers.items())},
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class _LockColumns(Protocol):
    """What `_locked_link` reads beside the link's own columns (fetch_instance's `extra`)."""

    session_dyad_id: int
    rate_counts: list[int] | None


def _locked_link(
    link_id: int, upsert: ratelimit.Counting | None
) -> tuple[ClientLink | None, list[int]]:
    """The link row, locked FOR UPDATE together with its therapy session's row (as
    select_for_update with select_related did), with that session's dyad id as
    `session_dyad_id` and its instruments' row versions (`instrument_versions`, for
    link_instruments' cache); and the rate-limit counts of `upsert`, which runs in the
    same statement. Plain SQL (dyad/lib/rows.py): the ORM spent ~0.8 ms of CPU on this."""
    table, sessions = ClientLink._meta.db_table, TherapySession._meta.db_table
    # The same row versions link_for_form reads (the form's GET), here for alias l.
    versions = VERSIONS_SQL.format(instrument=Instrument._meta.db_table, link="l")
    counted = upsert is not None and upsert.sql is not None
    with_counts = f"WITH rl AS ({upsert.sql}) " if counted else ""  # type: ignore[union-attr]
    counts = '(SELECT array_agg("count" ORDER BY "key") FROM rl)' if counted else "NULL"
    # Table and column names from _meta, the upsert's SQL from ratelimit: values are params.
    sql = (
        f'{with_counts}SELECT {columns(ClientLink, "l")}, s."dyad_id", {versions}, {counts} '  # noqa: S608
        f'FROM "{table}" l JOIN "{sessions}" s ON s."id" = l."session_id" '
        'WHERE l."id" = %s FOR UPDATE'
    )
    params = [*(upsert.params if counted else []), link_id]  # type: ignore[union-attr]
    extra = ["session_dyad_id", "instrument_versions", "rate_counts"]
    link = fetch_instance(ClientLink, sql, params, extra=extra)
    if link is None:
        return None, []
    return link, cast(_LockColumns, link).rate_counts or []


def client_forms_submit(
    *,
    link_id: int,
    submission_id: uuid.UUID,
    answers: dict[int, dict[int, int]] | None = None,
    instruments: Sequence[Instrument] | None = None,
    parse: Callable[[list[Instrument]], ParsedAnswers] | None = None,
    rate_limits: Sequence[tuple[str, object]] = (),
    also_write: Callable[[int], tuple[str, Sequence[object]] | None] | None = None,
) -> SubmitResult:
    """Store every answered form of the link, or nothing.

    The link row is locked for the duration, so two simultaneous submits are serialised:
    the second finds the link used and is told whether it was the same submission.

    Give either `answers`, with the link's instrument rows in `instruments` if the caller
    has them (used only if they are exactly the locked link's instruments, in order; read
    again otherwise), or `parse`, which turns the locked link's instruments into answers
    (the client's form: no read of the link before the transaction).

    `rate_limits` (scope, identity) are counted in the statement that locks the link, so
    inside the transaction; a refusal commits only the counts. Every path that rolls the
    transaction back counts them again outside it, so an attempt stays counted. (One whose
    database connection fails mid-transaction is not: nothing of it is stored, and with the
    database gone a second count would fail too.)

    `also_write` is called once the forms are ready to be written, with the id of the
    link they are saved through, and returns an UPDATE (SQL, parameters) that is run in
    the same statement as the forms (the client's view stores its "saved" mark in the
    session there, so the mark and the forms commit together, in one round trip);
    `also_written` says whether it updated its row (it may return None: nothing to add).
    """
    upsert = ratelimit.counting(*rate_limits) if rate_limits else None
    try:
        with transaction.atomic():
            link, counts = _locked_link(link_id, upsert)
            if link is None:
                return SubmitResult(Outcome.UNKNOWN, None)
            refusal = ratelimit.first_refusal(*upsert.decisions(counts)) if upsert else None
            if refusal is not None:
                return SubmitResult(Outcome.RATELIMITED, link, refusal=refusal)
            if link.revoked_at is not None and link.superseded_by_id is not None:
                # A newer link replaced this one while the client was answering: their
                # answers are saved through it (link_issue keeps the chain one step long).
                link = _locked_link(link.superseded_by_id, None)[0] or link
            return _submit_locked(link, submission_id, answers, instruments, parse, also_write)
    except IntegrityError:
        # A form of this session was stored by another path (e.g. a re-issued link), or
        # the submission id belongs to another link: the transaction kept nothing of ours,
        # not even the attempt's counts, so they are counted again.
        # (No savepoint around the inserts: rolling the whole transaction back is the same
        # outcome, two statements cheaper on every submit.)
        if rate_limits:
            ratelimit.hit_many(*rate_limits)
        link = ClientLink.objects.select_related("session").get(pk=link_id)
        return SubmitResult(Outcome.USED, link)


def _submit_locked(
    link: ClientLink,
    submission_id: uuid.UUID,
    answers: dict[int, dict[int, int]] | None,
    instruments: Sequence[Instrument] | None,
    parse: Callable[[list[Instrument]], ParsedAnswers] | None,
    also_write: Callable[[int], tuple[str, Sequence[object]] | None] | None,
) -> SubmitResult:
    """client_forms_submit once the link is locked and the attempt allowed."""
    parsed = None
    if parse is not None:
        instruments = link_instruments(link)
        parsed = parse(list(instruments))
        answers = parsed.answers
    elif instruments is None or [i.pk for i in instruments] != [
        int(i) for i in link.instrument_ids
    ]:
        instruments = instruments_by_ids([int(i) for i in link.instrument_ids])
    answers = answers or {}
    digest = answers_digest(answers)
    refused = _refused(link, submission_id, digest, parsed)
    if refused is not None:
        return refused
    now = timezone.now()
    rows: list[AdministrationRows] = []
    for instrument in instruments:
        built = administration_rows(
            session=SessionIds(link.session_id, cast(_LockColumns, link).session_dyad_id),
            instrument=instrument,
            answers=answers.get(instrument.pk, {}),
            submitted_at=now,
            submitted_by=None,
        )
        if built.result.missing:
            return SubmitResult(Outcome.INCOMPLETE, link, parsed=parsed)
        rows.append(built)
    link.used_at = now
    link.submission_id = submission_id
    link.submission_digest = digest
    # With the forms, in their statement (the ORM's save(update_fields=...) spent ~0.2 ms
    # of CPU building this UPDATE, its round trip as much again).
    also: list[tuple[str, Sequence[object]]] = [
        (
            f'UPDATE "{ClientLink._meta.db_table}" SET "used_at" = %s, '  # noqa: S608
            '"submission_id" = %s, "submission_digest" = %s WHERE "id" = %s',
            [now, submission_id, digest, link.pk],
        )
    ]
    extra = also_write(link.pk) if also_write is not None else None
    if extra is not None:
        also.append(extra)
    written = save_many_rows(rows, also=also)[1]
    return SubmitResult(
        Outcome.SAVED, link, parsed=parsed, also_written=len(written) > 1 and written[1] == 1
    )


def _refused(
    link: ClientLink, submission_id: uuid.UUID, digest: str, parsed: ParsedAnswers | None
) -> SubmitResult | None:
    """Why the locked link takes no forms, if it does not: a retry of the submit that used
    it lands on that submit's result."""
    if link.used_at is not None:
        if link.submission_id == submission_id:
            same = link.submission_digest == digest
            outcome = Outcome.REPLAYED if same else Outcome.CONFLICT
            return SubmitResult(outcome, link, parsed=parsed)
        return SubmitResult(Outcome.USED, link, parsed=parsed)
    if link.revoked_at is not None:
        return SubmitResult(Outcome.REVOKED, link, parsed=parsed)
    if link.expires_at <= timezone.now():
        return SubmitResult(Outcome.EXPIRED, link, parsed=parsed)
    if parsed is not None and not parsed.complete:
        return SubmitResult(Outcome.INCOMPLETE, link, parsed=parsed)
    return None
