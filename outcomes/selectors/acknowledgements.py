"""Who acknowledged which alert: one query for a page's dyads."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import QuerySet

from clinic.models import Dyad
from outcomes.models import AlertAcknowledgement

AckKey = tuple[int, int, str]  # dyad id, session number, alert kind


def acknowledgements_for(
    dyads: QuerySet[Dyad] | Collection[int],
) -> dict[AckKey, AlertAcknowledgement]:
    """Every acknowledgement of the dyads' alerts, by (dyad id, session number, kind), with
    who acknowledged. One query; `dyads` a queryset (used as a subquery) or ids."""
    rows = AlertAcknowledgement.objects.filter(session__dyad__in=dyads).select_related(
        "acknowledged_by", "session"
    )
    return {(a.session.dyad_id, a.session.number, a.kind): a for a in rows}


def acknowledged_keys(
    acks: dict[AckKey, AlertAcknowledgement], dyad_id: int
) -> set[tuple[int, str]]:
    """(session number, kind) of one dyad's acknowledged alerts, as sort_alerts takes them."""
    return {(number, kind) for (d, number, kind) in acks if d == dyad_id}
