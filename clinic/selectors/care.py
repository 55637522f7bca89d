"""Reads for the caseload, team and staff pages; each a queryset with a fixed number of queries."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.access import dyads_visible_to, staff_managed_by, therapists_visible_to
from clinic.models import Dyad, StaffMember


def caseload(dyads: QuerySet[Dyad]) -> QuerySet[Dyad]:
    """Dyads with client, therapist, number of sessions and the last session's date."""
    return (
        dyads.select_related("client", "therapist")
        .annotate(session_count=Count("sessions"), last_session_on=Max("sessions__date"))
        .order_by("status", "client__code", "-started_on")
    )


def caseload_for_user(
    user: AbstractBaseUser,
    *,
    therapist: StaffMember | None = None,
    status: str | None = None,
    search: str = "",
) -> QuerySet[Dyad]:
    dyads = dyads_visible_to(user)
    if therapist is not None:
        dyads = dyads.filter(therapist=therapist)
    if status in Dyad.Status.values:
        dyads = dyads.filter(status=status)
    search = search.strip()
    if search:
        dyads = dyads.filter(
            Q(client__code__icontains=search)
            | Q(client__display_name__icontains=search)
            | Q(therapist__display_name__icontains=search)
        )
    return caseload(dyads)


def team_for_user(user: AbstractBaseUser) -> QuerySet[StaffMember]:
    """The therapists a supervisor (or admin) oversees, with caseload figures."""
    return (
        therapists_visible_to(user)
        .select_related("user")
        .annotate(
            active_dyads=Count("dyads", filter=Q(dyads__status=Dyad.Status.ACTIVE), distinct=True),
            total_sessions=Count("dyads__sessions", distinct=True),
            last_session_on=Max("dyads__sessions__date"),
        )
        .order_by("display_name")
    )


def staff_overview(user: AbstractBaseUser) -> QuerySet[StaffMember]:
    """The admin's clinic staff, active first, with caseload size, whether they have an
    authenticator app, and their supervision links (a fixed number of queries)."""
    return (
        staff_managed_by(user)
        .select_related("user")
        .annotate(
            active_dyads=Count("dyads", filter=Q(dyads__status=Dyad.Status.ACTIVE)),
            has_authenticator=Exists(
                TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True)
            ),
        )
        .prefetch_related("supervisions__therapist", "supervised_by__supervisor")
        .order_by("-user__is_active", "display_name", "pk")
    )


def next_session_number(dyad: Dyad) -> int:
    last = dyad.sessions.aggregate(last=Max("number"))["last"]
    return (last or 0) + 1
