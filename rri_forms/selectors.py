"""Reads for the form pages."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.contrib.postgres.fields import ArrayField
from django.db.models import F, Prefetch, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields import CharField
from django.utils import timezone

from clinic.models import Clinic, TherapySession
from dyad.lib.rows import columns, fetch_instance
from rri_forms.models import (
    Administration,
    AdministrationCorrection,
    ClientLink,
    ClinicFormSettings,
    Instrument,
    LinkEmail,
    Score,
)


def form_settings_for(clinic: Clinic) -> ClinicFormSettings:
    """The clinic's settings, or the defaults (unsaved) when it has none yet."""
    try:
        return clinic.form_settings
    except ClinicFormSettings.DoesNotExist:
        return ClinicFormSettings(clinic=clinic)


def current_instruments(codes: list[str]) -> list[Instrument]:
    """Current versions of the given codes, in the given order."""
    by_code = {i.code: i for i in Instrument.objects.filter(code__in=codes, is_current=True)}
    return [by_code[c] for c in codes if c in by_code]


def instruments_by_ids(ids: list[int]) -> list[Instrument]:
    by_id = Instrument.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


# --- The client form's instruments, kept per process ------------------------------------
#
# Every client form request needs its link's instrument rows (a few KB of TOML each, plus
# model instantiation: ~0.5 ms per request). They rarely change, but they do change *in
# place*: `manage.py install_instrument` rewrites a version's wording in its row, from
# another process. So a cached row is only used when its PostgreSQL row version (`xmin`,
# the id of the transaction that last wrote the row; any UPDATE, even a queryset
# `.update()`, changes it) equals the one read, in the same statement, with the link row
# the request needs anyway. Correct across any number of processes and machines; the
# price is a small sub-select in the link's query.

VERSIONS_SQL = (
    'ARRAY(SELECT i."id"::text || \':\' || i."xmin"::text FROM "{instrument}" i '
    'WHERE i."id" IN (SELECT jsonb_array_elements_text("{link}"."instrument_ids")::bigint))'
)
_cached_instruments: dict[int, tuple[str, Instrument]] = {}  # pk -> (xmin, row)
_cache_lock = threading.Lock()


def with_instrument_versions(links: QuerySet[ClientLink]) -> QuerySet[ClientLink]:
    """Annotate each link with `instrument_versions`: "id:xmin" of its instrument rows."""
    sql = VERSIONS_SQL.format(instrument=Instrument._meta.db_table, link=ClientLink._meta.db_table)
    return links.annotate(
        instrument_versions=RawSQL(sql, [], output_field=ArrayField(CharField()))  # noqa: S611 - constant SQL
    )


def link_for_form(link_id: int) -> ClientLink | None:
    """The link row, with_instrument_versions, for the form's GET and POST.

    Plain SQL (dyad/lib/rows.py): building this query and its instance through the ORM cost
    ~0.5 ms of CPU, more than running it (the form page's whole budget is ~2 ms). Returns
    None for an unknown id.
    """
    if not isinstance(link_id, int) or isinstance(link_id, bool):
        return None
    table = ClientLink._meta.db_table
    versions = VERSIONS_SQL.format(instrument=Instrument._meta.db_table, link=table)
    quoted = f'"{table}"'
    sql = (
        f"SELECT {columns(ClientLink, quoted)}, {versions} "  # noqa: S608 - from _meta
        f'FROM "{table}" WHERE "id" = %s'
    )
    return fetch_instance(ClientLink, sql, [link_id], extra=["instrument_versions"])


def link_instruments(link: ClientLink) -> list[Instrument]:
    """The link's instrument versions, in the link's order.

    Rows come from the per-process cache when the link was read through
    with_instrument_versions and the versions match; otherwise (and to refill the cache)
    from the database. Cached instances are shared between requests: read them, never
    change them.
    """
    ids = [int(i) for i in link.instrument_ids]
    versions_read = getattr(link, "instrument_versions", None)
    if versions_read is None:
        return instruments_by_ids(ids)
    versions = dict(v.split(":", 1) for v in versions_read)
    found: dict[int, Instrument] = {}
    for pk in ids:
        entry = _cached_instruments.get(pk)
        if entry is not None and entry[0] == versions.get(str(pk)):
            found[pk] = entry[1]
    missing = [pk for pk in ids if pk not in found]
    if missing:
        xmin = RawSQL(f'"{Instrument._meta.db_table}"."xmin"::text', [], CharField())  # noqa: S611
        fetched = list(Instrument.objects.filter(pk__in=missing).annotate(row_version=xmin))
        with _cache_lock:
            for instrument in fetched:
                # Stored under the version read with the row itself, so a row changed
                # between the two reads is simply fetched again next time.
                _cached_instruments[instrument.pk] = (instrument.row_version, instrument)
                found[instrument.pk] = instrument
    return [found[pk] for pk in ids if pk in found]


@dataclass
class SessionForms:
    administrations: dict[str, list[Administration]] = field(default_factory=dict)
    pending: dict[str, list[Instrument]] = field(default_factory=dict)
    link: ClientLink | None = None


def session_forms(session: TherapySession) -> SessionForms:
    """What was completed for the session, what is still pending, and the client link."""
    done = list(
        Administration.objects.filter(session=session)
        .select_related("instrument", "submitted_by")
        .prefetch_related(
            Prefetch("scores", queryset=Score.objects.order_by("pk")),
            Prefetch(
                "corrections",
                queryset=AdministrationCorrection.objects.select_related("corrected_by"),
            ),
        )
        .order_by("rater", "pk")
    )
    settings = form_settings_for(session.dyad.clinic)
    result = SessionForms(link=session.links.filter(revoked_at__isnull=True).first())
    for rater in (Instrument.Rater.CLIENT, Instrument.Rater.THERAPIST):
        completed = [a for a in done if a.rater == rater]
        codes = {a.instrument_code for a in completed}
        result.administrations[rater] = completed
        # Nothing is due after a no-show; forms stored before it was marked one still show.
        wanted = settings.codes_for(rater, session.number) if session.attended else []
        result.pending[rater] = [i for i in current_instruments(wanted) if i.code not in codes]
    return result


def session_emails(session: TherapySession) -> list[LinkEmail]:
    """Every email of the session's links, newest link first: the delivery record."""
    return list(
        LinkEmail.objects.filter(link__session=session)
        .select_related("link")
        .order_by("-link__created_at", "number")
    )


@dataclass
class ReminderState:
    """The newest emailed link of a dyad: its reminders so far and any failed email."""

    sent: int = 0
    queued: int = 0
    failed: list[LinkEmail] = field(default_factory=list)


def reminder_states(dyad_ids: list[int]) -> dict[int, ReminderState]:
    """Per dyad, the emails of its links still waiting for the client (one query)."""
    states: dict[int, ReminderState] = {}
    rows = (
        LinkEmail.objects.filter(
            link__session__dyad_id__in=dyad_ids,
            link__revoked_at__isnull=True,
            link__used_at__isnull=True,
            link__expires_at__gt=timezone.now(),
        )
        .annotate(dyad_id=F("link__session__dyad_id"))
        .only("number", "status", "last_error", "retry_at", "link_id")
        .order_by("number")
    )
    for email in rows:
        state = states.setdefault(email.dyad_id, ReminderState())
        if email.status == LinkEmail.Status.FAILED:
            state.failed.append(email)
        elif email.is_reminder and email.status == LinkEmail.Status.SENT:
            state.sent += 1
        elif email.is_reminder and email.status in (
            LinkEmail.Status.QUEUED,
            LinkEmail.Status.RETRYING,
        ):
            state.queued += 1
    return {dyad: s for dyad, s in states.items() if s.sent or s.queued or s.failed}
