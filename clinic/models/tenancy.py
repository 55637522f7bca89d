"""Clinics (tenants), their staff and who supervises whom."""

from __future__ import annotations

import zoneinfo

import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Clinic(models.Model):
    """A tenant: every clinical row belongs to exactly one clinic."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=50, unique=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text=_("Decides what 'today' means for session dates."),
    )
    therapists_need_2fa = models.BooleanField(
        _("therapists sign in with two steps"),
        default=False,
        help_text=_(
            "Supervisors and admins always need an authenticator app; this asks it of "
            "therapists too."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def today(self):  # type: ignore[no-untyped-def]
        """The current date where the clinic is, not where the server is."""
        return timezone.localdate(timezone=zoneinfo.ZoneInfo(self.time_zone))


USERNAME_TAKEN = _("This username is taken; choose another.")


class StaffMember(models.Model):
    """A login's membership of one clinic, with one role."""

    # auth_user's unique index on lower(username), created by clinic's migration 0013.
    database_rules = {"auth_user_username_lower_uniq": {"username": USERNAME_TAKEN}}

    class Role(models.TextChoices):
        THERAPIST = "therapist", _("Therapist")
        SUPERVISOR = "supervisor", _("Supervisor")
        ADMIN = "admin", _("Clinic admin")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="staff")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    display_name = models.CharField(_("display name"), max_length=150)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["therapist", "supervisor", "admin"]),
                name="staff_role_valid",
            ),
            # Target of the (therapist, clinic) foreign key that keeps a dyad in one clinic.
            models.UniqueConstraint(fields=["id", "clinic"], name="staff_member_id_clinic_key"),
        ]
        triggers = [
            # Supervision's own trigger checks new links; this one a role or clinic change
            # under existing links (staff_update drops the links a new role no longer fits).
            pgtrigger.Trigger(
                name="staff_member_change_fits_supervision",
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(
                    'OLD."role" IS DISTINCT FROM NEW."role" '
                    'OR OLD."clinic_id" IS DISTINCT FROM NEW."clinic_id"'
                ),
                func=pgtrigger.Func(
                    """
                    IF EXISTS (
                        SELECT 1 FROM clinic_supervision s
                        JOIN clinic_staffmember sup ON sup.id = s.supervisor_id
                        JOIN clinic_staffmember thr ON thr.id = s.therapist_id
                        WHERE (s.supervisor_id = NEW.id OR s.therapist_id = NEW.id)
                          AND sup.clinic_id <> thr.clinic_id
                    ) THEN
                        RAISE EXCEPTION 'a supervision would link two clinics'
                            USING ERRCODE = 'check_violation',
                                  CONSTRAINT = 'supervision_same_clinic';
                    END IF;
                    IF EXISTS (
                        SELECT 1 FROM clinic_supervision s
                        WHERE (s.supervisor_id = NEW.id AND NEW.role <> 'supervisor')
                           OR (s.therapist_id = NEW.id AND NEW.role <> 'therapist')
                    ) THEN
                        RAISE EXCEPTION 'a supervision would no longer fit its roles'
                            USING ERRCODE = 'check_violation',
                                  CONSTRAINT = 'supervision_roles_fit';
                    END IF;
                    RETURN NULL;
                    """
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_role_display()})"

    @property
    def is_therapist(self) -> bool:
        return self.role == self.Role.THERAPIST

    @property
    def is_supervisor(self) -> bool:
        return self.role == self.Role.SUPERVISOR

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Supervision(models.Model):
    """A supervisor reviews a therapist's dyads (read-only)."""

    # Rules a trigger enforces (no composite key can reach the two staff rows' roles).
    database_rules = {
        "supervision_same_clinic": _("Supervisor and therapist must work at the same clinic."),
        "supervision_roles_fit": _(
            "Only a supervisor can supervise, and only a therapist can be supervised."
        ),
    }

    supervisor = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="supervisions"
    )
    therapist = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="supervised_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("supervision")
        verbose_name_plural = _("supervisions")
        constraints = [
            models.UniqueConstraint(
                fields=["supervisor", "therapist"], name="supervision_unique_pair"
            ),
            models.CheckConstraint(
                condition=~Q(supervisor=F("therapist")), name="supervision_not_self"
            ),
        ]
        triggers = [
            # After the row's own checks (not self), so those speak first. FOR SHARE: a
            # concurrent role or clinic change waits for this link, then sees it.
            pgtrigger.Trigger(
                name="supervision_fits_staff",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.Update,
                declare=[
                    ("sup", "clinic_staffmember%ROWTYPE"),
                    ("thr", "clinic_staffmember%ROWTYPE"),
                ],
                func=pgtrigger.Func(
                    """
                    SELECT * INTO sup FROM clinic_staffmember
                        WHERE id = NEW.supervisor_id FOR SHARE;
                    SELECT * INTO thr FROM clinic_staffmember
                        WHERE id = NEW.therapist_id FOR SHARE;
                    IF sup.clinic_id <> thr.clinic_id THEN
                        RAISE EXCEPTION 'supervisor and therapist are of different clinics'
                            USING ERRCODE = 'check_violation',
                                  CONSTRAINT = 'supervision_same_clinic';
                    END IF;
                    IF sup.role <> 'supervisor' OR thr.role <> 'therapist' THEN
                        RAISE EXCEPTION 'a supervision links a supervisor to a therapist'
                            USING ERRCODE = 'check_violation',
                                  CONSTRAINT = 'supervision_roles_fit';
                    END IF;
                    RETURN NULL;
                    """
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supervisor.display_name} → {self.therapist.display_name}"

    def clean(self) -> None:
        errors = {}
        if self.supervisor_id and self.therapist_id:
            if self.supervisor_id == self.therapist_id:
                errors["therapist"] = _("Nobody can supervise themselves.")
            elif self.supervisor.clinic_id != self.therapist.clinic_id:
                errors["therapist"] = _("Supervisor and therapist must work at the same clinic.")
            if self.supervisor.role != StaffMember.Role.SUPERVISOR:
                errors["supervisor"] = _("Only staff with the supervisor role can supervise.")
            if self.therapist.role != StaffMember.Role.THERAPIST:
                errors["therapist"] = _("Only therapists can be supervised.")
        if errors:
            raise ValidationError(errors)
