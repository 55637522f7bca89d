"""Who may see and change what. Every view fetches objects through these helpers.

The rules:
- a therapist sees their own dyads (and those dyads' clients and sessions);
- a supervisor sees the dyads of the therapists they supervise, read-only;
- a clinic admin sees everything in their clinic;
- nobody sees another clinic's data: such an object is a 404, as is an object that
  exists but is not visible (so ids reveal nothing), while a visible object that the role
  may only read is a 403 on write.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from clinic.models import Client, Dyad, StaffMember, TherapySession

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

_CACHE_ATTR = "_dyad_staff_member"


def staff_for(user: AnyUser) -> StaffMember | None:
    """The user's active clinic membership (cached on the user object), or None."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if not hasattr(user, _CACHE_ATTR):
        member = StaffMember.objects.select_related("clinic").filter(user_id=user.pk).first()
        setattr(user, _CACHE_ATTR, member)
    return getattr(user, _CACHE_ATTR)


def require_staff(user: AnyUser) -> StaffMember:
    member = staff_for(user)
    if member is None:
        raise PermissionDenied("No clinic membership")
    return member


# --- Role gates ------------------------------------------------------------------------
# The one place a role is turned into a 403. Services call `require_role`; views carry the
# decorators, or fetch their object with a `get_*_for_admin` helper when a 404 for an
# invisible object must come before the 403 for the role.

Role = StaffMember.Role
ADMIN_ONLY = (Role.ADMIN,)
SUPERVISION = (Role.SUPERVISOR, Role.ADMIN)  # see the team, never write clinical data
WRITERS = (Role.THERAPIST, Role.ADMIN)  # everyone but supervisors, who are read-only


def require_role(user: AnyUser, roles: tuple[str, ...], message: str) -> StaffMember:
    """The user's membership when its role is one of `roles`; a 403 with `message` if not."""
    member = require_staff(user)
    if member.role not in roles:
        raise PermissionDenied(message)
    return member


def require_admin(user: AnyUser, clinic_id: int | None = None) -> StaffMember:
    """A clinic admin (of `clinic_id`, when given)."""
    member = require_role(user, ADMIN_ONLY, "Clinic admins only")
    if clinic_id is not None and member.clinic_id != clinic_id:
        raise PermissionDenied("Clinic admins only, for their own clinic")
    return member


def require_dyad_write(
    user: AnyUser, dyad: Dyad, message: str = "Read-only access to this dyad"
) -> None:
    if not can_write_dyad(user, dyad):
        raise PermissionDenied(message)


def can_act_on_alerts(user: AnyUser, dyad: Dyad) -> bool:
    """The dyad's therapist, a clinic admin, or a supervisor of the therapist: whoever is
    responsible for acting on an alert. (Supervisors cannot change clinical data, but
    saying that they have seen an alert and what was done is their job.)"""
    if can_write_dyad(user, dyad):
        return True
    member = require_staff(user)
    return member.is_supervisor and dyads_visible_to(user).filter(pk=dyad.pk).exists()


def require_alert_actor(user: AnyUser, dyad: Dyad) -> None:
    if not can_act_on_alerts(user, dyad):
        raise PermissionDenied("Cannot acknowledge this dyad's alerts")


def require_client_write(user: AnyUser, client: Client) -> StaffMember:
    """A writer (therapist or admin) of the client's own clinic."""
    member = require_staff(user)
    if member.is_supervisor or member.clinic_id != client.clinic_id:
        raise PermissionDenied("Read-only access to this client")
    return member


def require_same_clinic(member: StaffMember, clinic_id: int, message: str) -> None:
    if member.clinic_id != clinic_id:
        raise PermissionDenied(message)


def require_assignable(member: StaffMember, therapist: StaffMember) -> None:
    """Who may give a therapist a dyad: admins anyone; therapists themselves; supervisors none."""
    if member.is_therapist and therapist.pk != member.pk:
        raise PermissionDenied("Therapists open dyads for themselves only")
    if member.is_supervisor:
        raise PermissionDenied("Supervisors have read-only access")


def is_dyad_therapist(user: AnyUser, dyad: Dyad) -> bool:
    """The dyad's own therapist (not an admin, not a supervisor)."""
    member = staff_for(user)
    return member is not None and member.pk == dyad.therapist_id


def require_dyad_therapist(user: AnyUser, dyad: Dyad, message: str) -> None:
    if not is_dyad_therapist(user, dyad):
        raise PermissionDenied(message)


View = Callable[..., HttpResponse]


def role_required(
    roles: tuple[str, ...], message: str, *, superuser: bool = False
) -> Callable[[View], View]:
    """View decorator: staff of one of `roles` (or any superuser, with `superuser=True`)."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not (superuser and request.user.is_superuser):
                require_role(request.user, roles, message)
            return view(request, *args, **kwargs)

        return gated

    return decorator


admin_required = role_required(ADMIN_ONLY, "Clinic admins only")
supervision_required = role_required(SUPERVISION, "For supervisors and clinic admins")
therapist_required = role_required((Role.THERAPIST,), "For therapists")
writer_required = role_required(WRITERS, "Supervisors have read-only access")


# --- Staff ---------------------------------------------------------------------------


def therapists_visible_to(user: AnyUser) -> QuerySet[StaffMember]:
    member = staff_for(user)
    therapists = StaffMember.objects.filter(role=StaffMember.Role.THERAPIST)
    if member is None:
        return therapists.none()
    therapists = therapists.filter(clinic=member.clinic, user__is_active=True)
    if member.is_admin:
        return therapists
    if member.is_supervisor:
        return therapists.filter(supervised_by__supervisor=member)
    return therapists.filter(pk=member.pk)


def get_therapist_for_user(user: AnyUser, pk: int) -> StaffMember:
    therapist = therapists_visible_to(user).filter(pk=pk).first()
    if therapist is None:
        raise Http404("No such therapist")
    return therapist


def staff_managed_by(user: AnyUser) -> QuerySet[StaffMember]:
    """Every membership of a clinic admin's clinic, deactivated ones included."""
    member = staff_for(user)
    if member is None or not member.is_admin:
        return StaffMember.objects.none()
    return StaffMember.objects.filter(clinic=member.clinic)


def get_staff_for_admin(user: AnyUser, pk: int) -> StaffMember:
    """A staff member of the admin's clinic; 403 for non-admins, 404 for anyone else's."""
    require_admin(user)
    target = staff_managed_by(user).select_related("user").filter(pk=pk).first()
    if target is None:
        raise Http404("No such staff member")
    return target


# --- Dyads ---------------------------------------------------------------------------


def dyads_visible_to(user: AnyUser) -> QuerySet[Dyad]:
    member = staff_for(user)
    if member is None:
        return Dyad.objects.none()
    dyads = Dyad.objects.filter(clinic=member.clinic)
    if member.is_admin:
        return dyads
    if member.is_supervisor:
        return dyads.filter(therapist__supervised_by__supervisor=member)
    return dyads.filter(therapist=member)


def can_write_dyad(user: AnyUser, dyad: Dyad) -> bool:
    """Therapists change their own dyads; admins any in their clinic; supervisors none."""
    member = staff_for(user)
    if member is None or member.clinic_id != dyad.clinic_id:
        return False
    return member.is_admin or (member.is_therapist and dyad.therapist_id == member.pk)


def get_dyad_for_user(user: AnyUser, pk: int) -> Dyad:
    dyad = (
        dyads_visible_to(user).select_related("client", "therapist", "clinic").filter(pk=pk).first()
    )
    if dyad is None:
        raise Http404("No such dyad")
    return dyad


def get_dyad_for_write(user: AnyUser, pk: int) -> Dyad:
    dyad = get_dyad_for_user(user, pk)
    require_dyad_write(user, dyad)
    return dyad


def get_dyad_for_admin(user: AnyUser, pk: int) -> Dyad:
    """A dyad this user may write (404 / 403 as above), then a 403 unless a clinic admin."""
    dyad = get_dyad_for_write(user, pk)
    require_admin(user, dyad.clinic_id)
    return dyad


# --- Clients -------------------------------------------------------------------------


def clients_visible_to(user: AnyUser) -> QuerySet[Client]:
    member = staff_for(user)
    if member is None:
        return Client.objects.none()
    clients = Client.objects.filter(clinic=member.clinic)
    if member.is_admin:
        return clients
    return clients.filter(dyads__in=dyads_visible_to(user)).distinct()


def get_client_for_user(user: AnyUser, pk: int) -> Client:
    client = clients_visible_to(user).filter(pk=pk).first()
    if client is None:
        raise Http404("No such client")
    return client


def get_client_for_admin(user: AnyUser, pk: int) -> Client:
    """A visible client (404 otherwise), then a 403 unless the user is a clinic admin."""
    client = get_client_for_user(user, pk)
    require_admin(user, client.clinic_id)
    return client


def get_client_for_write(user: AnyUser, pk: int) -> Client:
    """A visible client whose details this user may change: their therapist or an admin."""
    client = get_client_for_user(user, pk)
    require_role(user, WRITERS, "Supervisors have read-only access")
    return client


# --- Sessions ------------------------------------------------------------------------


def sessions_visible_to(user: AnyUser) -> QuerySet[TherapySession]:
    return TherapySession.objects.filter(dyad__in=dyads_visible_to(user))


def get_session_for_user(user: AnyUser, pk: int) -> TherapySession:
    session = (
        sessions_visible_to(user)
        .select_related("dyad", "dyad__client", "dyad__therapist", "dyad__clinic")
        .filter(pk=pk)
        .first()
    )
    if session is None:
        raise Http404("No such session")
    return session


def get_session_for_write(user: AnyUser, pk: int) -> TherapySession:
    session = get_session_for_user(user, pk)
    require_dyad_write(user, session.dyad, "Read-only access to this session")
    return session
