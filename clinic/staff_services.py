"""Clinic admins manage their staff: accounts, roles, supervision, sign-in help.

Each service is one transaction, checks that the actor is an admin of the member's clinic,
and refuses changes that would lock the clinic out or strand clients: the last active admin
stays an admin, nobody changes their own role or deactivates themselves, and a therapist
with active dyads keeps the role until those dyads are ended or moved.

Accounts that also operate the installation (Django superusers and `is_staff` users) are
out of a clinic admin's reach: a password link or a 2FA reset would let the admin sign in
as the operator. Every password link, 2FA reset, (de)activation and role change is
recorded as a StaffSecurityEvent in the same transaction (shown on the audit page).
"""

from __future__ import annotations

from collections.abc import Iterable

from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.access import require_staff
from clinic.models import Clinic, Dyad, StaffMember, StaffSecurityEvent, Supervision
from clinic.models.tenancy import USERNAME_TAKEN
from dyad.lib import usernames
from dyad.lib.integrity import readable_integrity_errors

Role = StaffMember.Role


def _admin_over(actor_user: AbstractBaseUser, member: StaffMember | None = None) -> StaffMember:
    actor = require_staff(actor_user)
    if not actor.is_admin:
        raise PermissionDenied("Clinic admins only")
    if member is not None and member.clinic_id != actor.clinic_id:
        raise PermissionDenied("Another clinic's staff member")
    return actor


def _locked(member: StaffMember) -> StaffMember:
    return StaffMember.objects.select_for_update().select_related("user").get(pk=member.pk)


def _refuse_if_operator(member: StaffMember) -> None:
    if member.user.is_superuser or member.user.is_staff:
        raise ValidationError(
            _(
                "%(name)s also administers this Dyad installation (Django admin): their "
                "account is managed by the installation's operator, not on this page. "
                "Nothing was changed."
            )
            % {"name": member.display_name}
        )


def _record(actor: StaffMember, target: StaffMember, action: str, detail: str = "") -> None:
    StaffSecurityEvent.objects.create(
        clinic_id=actor.clinic_id, actor=actor, target=target, action=action, detail=detail
    )


def _active_dyads(member: StaffMember) -> int:
    return Dyad.objects.filter(therapist=member, status=Dyad.Status.ACTIVE).count()


def _refuse_if_last_admin(member: StaffMember) -> None:
    others = (
        StaffMember.objects.select_for_update()
        .filter(clinic=member.clinic_id, role=Role.ADMIN, user__is_active=True)
        .exclude(pk=member.pk)
    )
    if not others.exists():
        raise ValidationError(
            _("%(name)s is the clinic's only active admin: make someone else an admin first.")
            % {"name": member.display_name}
        )


def _refuse_if_caseload(member: StaffMember, doing: str) -> None:
    count = _active_dyads(member)
    if count:
        raise ValidationError(
            ngettext(
                "%(name)s still has %(count)d active dyad: end it or move it to another "
                "therapist before you %(doing)s.",
                "%(name)s still has %(count)d active dyads: end them or move them to another "
                "therapist before you %(doing)s.",
                count,
            )
            % {"name": member.display_name, "count": count, "doing": doing}
        )


def _username_free(username: str) -> str:
    """The username as it will be stored, if no colleague's could be mistaken for it."""
    user_model = get_user_model()
    # Normalised (NFKC) before validation: full_clean() would normalise only after checking
    # the characters, so "¼" would be stored as "1⁄4", which the username rule refuses.
    username = user_model.normalize_username(username.strip())
    try:  # Django's own rule first, with its message
        user_model._meta.get_field("username").run_validators(username)
    except ValidationError as error:
        raise ValidationError({"username": error.messages}) from error
    if username and not usernames.is_plain(username):
        raise ValidationError(
            {
                "username": _(
                    "Use the letters of one alphabet, digits and . @ + - _ only: no "
                    "look-alike, invisible or mixed-alphabet characters."
                )
            }
        )
    if user_model.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": USERNAME_TAKEN})
    existing = list(user_model.objects.values_list("username", flat=True))
    if usernames.looks_like_any(username, existing):
        raise ValidationError(
            {
                "username": _(
                    "This username looks too much like an existing one (letters that look "
                    "alike); choose another."
                )
            }
        )
    return username


@transaction.atomic
def staff_create(
    *, actor_user: AbstractBaseUser, username: str, display_name: str, email: str, role: str
) -> StaffMember:
    """A new sign-in without a password: the person sets one through an invitation link."""
    actor = _admin_over(actor_user)
    user_model = get_user_model()
    username = _username_free(username)
    user = user_model(username=username, email=email.strip())
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    with readable_integrity_errors(StaffMember):  # a parallel request took it meanwhile
        user.save()
    member = StaffMember(
        user=user, clinic=actor.clinic, role=role, display_name=display_name.strip()
    )
    member.full_clean()
    with readable_integrity_errors(StaffMember):
        member.save()
    return member


@transaction.atomic
def staff_update(
    *,
    actor_user: AbstractBaseUser,
    member: StaffMember,
    display_name: str,
    email: str,
    role: str,
) -> StaffMember:
    """Name, email and role. A role change drops supervision links that no longer fit."""
    actor = _admin_over(actor_user, member)
    member = _locked(member)
    _refuse_if_operator(member)
    old_role = member.role
    if role != member.role:
        if member.pk == actor.pk:
            raise ValidationError({"role": _("You cannot change your own role.")})
        if member.is_admin:
            _refuse_if_last_admin(member)
        if member.is_therapist:
            _refuse_if_caseload(member, _("change their role"))
            Supervision.objects.filter(therapist=member).delete()
        if member.is_supervisor:
            Supervision.objects.filter(supervisor=member).delete()
    member.display_name = display_name.strip()
    member.role = role
    member.full_clean()
    member.user.email = email.strip()
    member.user.full_clean(exclude=["password"])
    member.user.save(update_fields=["email"])
    with readable_integrity_errors(StaffMember):
        member.save(update_fields=["display_name", "role"])
    if role != old_role:
        _record(actor, member, StaffSecurityEvent.Action.ROLE_CHANGED, f"{old_role} → {role}")
    return member


@transaction.atomic
def staff_set_active(
    *, actor_user: AbstractBaseUser, member: StaffMember, active: bool
) -> StaffMember:
    """Deactivating ends every signed-in session of theirs (dyad.lib.session_security)."""
    actor = _admin_over(actor_user, member)
    member = _locked(member)
    _refuse_if_operator(member)
    if not active:
        if member.pk == actor.pk:
            raise ValidationError(_("You cannot deactivate your own account."))
        if member.is_admin:
            _refuse_if_last_admin(member)
        if member.is_therapist:
            _refuse_if_caseload(member, _("deactivate them"))
    if member.user.is_active != active:
        member.user.is_active = active
        member.user.save(update_fields=["is_active"])
        actions = StaffSecurityEvent.Action
        _record(actor, member, actions.REACTIVATED if active else actions.DEACTIVATED)
    return member


@transaction.atomic
def supervision_set(
    *, actor_user: AbstractBaseUser, supervisor: StaffMember, therapists: Iterable[StaffMember]
) -> list[StaffMember]:
    """Make `therapists` exactly the set this supervisor supervises."""
    _admin_over(actor_user, supervisor)
    supervisor = _locked(supervisor)
    wanted = {t.pk: t for t in therapists}
    Supervision.objects.filter(supervisor=supervisor).exclude(therapist__in=wanted).delete()
    existing = set(
        Supervision.objects.filter(supervisor=supervisor).values_list("therapist_id", flat=True)
    )
    for therapist in wanted.values():
        if therapist.pk in existing:
            continue
        link = Supervision(supervisor=supervisor, therapist=therapist)
        link.full_clean()
        with readable_integrity_errors(Supervision):
            link.save()
    return list(wanted.values())


@transaction.atomic
def two_factor_reset(*, actor_user: AbstractBaseUser, member: StaffMember) -> int:
    """Remove a lost authenticator and the recovery codes: the person enrols again at their
    next sign-in. Returns the number of devices removed."""
    actor = _admin_over(actor_user, member)
    member = _locked(member)
    _refuse_if_operator(member)
    removed, _detail = TOTPDevice.objects.filter(user=member.user).delete()
    static, _detail = StaticDevice.objects.filter(user=member.user).delete()
    _record(
        actor, member, StaffSecurityEvent.Action.TWO_FACTOR_RESET, f"{removed + static} removed"
    )
    return removed + static


@transaction.atomic
def password_link_path(actor_user: AbstractBaseUser, member: StaffMember) -> str:
    """A one-time link to set a password (an invitation, or a reset requested through the
    admin). It stops working once the password changes or after PASSWORD_RESET_TIMEOUT.
    Clears a sign-in lockout too: the admin has vouched for the person."""
    actor = _admin_over(actor_user, member)
    member = _locked(member)
    _refuse_if_operator(member)
    if not member.user.is_active:
        raise ValidationError(_("Reactivate the account before sending a sign-in link."))
    _record(actor, member, StaffSecurityEvent.Action.PASSWORD_LINK)
    axes_reset(username=member.user.get_username())
    return _password_link(member)


def _password_link(member: StaffMember) -> str:
    return reverse(
        "password_set",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(member.user.pk)),
            "token": default_token_generator.make_token(member.user),
        },
    )


@transaction.atomic
def clinic_create(
    *, name: str, slug: str, time_zone: str, admin_username: str, admin_name: str, email: str
) -> tuple[StaffMember, str]:
    """A new clinic with its first admin (for `manage.py create_clinic`, run by whoever
    operates the installation). Returns the admin and the path of their sign-in link."""
    clinic = Clinic(name=name.strip(), slug=slug.strip(), time_zone=time_zone)
    clinic.full_clean()
    clinic.save()
    user_model = get_user_model()
    admin_username = _username_free(admin_username)
    user = user_model(username=admin_username, email=email.strip())
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    with readable_integrity_errors(StaffMember):
        user.save()
    member = StaffMember(user=user, clinic=clinic, role=Role.ADMIN, display_name=admin_name.strip())
    member.full_clean()
    member.save()
    return member, _password_link(member)


@transaction.atomic
def clinic_security_set(*, actor_user: AbstractBaseUser, therapists_need_2fa: bool) -> Clinic:
    actor = _admin_over(actor_user)
    clinic = Clinic.objects.select_for_update().get(pk=actor.clinic_id)
    clinic.therapists_need_2fa = therapists_need_2fa
    clinic.save(update_fields=["therapists_need_2fa"])
    return clinic
