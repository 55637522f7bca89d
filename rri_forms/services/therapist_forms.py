"""Saving a therapist's own forms for a session, and correcting them within the window."""

from __future__ import annotations

import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.access import is_dyad_therapist, require_dyad_therapist, require_staff
from clinic.models import StaffMember, TherapySession
from rri_forms.models import Administration, AdministrationCorrection, Answer, Instrument, Score
from rri_forms.scoring import score_answers
from rri_forms.selectors import form_settings_for
from rri_forms.services.recording import administration_rows, answer_rows, save_rows, score_rows


def correction_deadline(administration: Administration, days: int) -> datetime.datetime:
    return administration.submitted_at + datetime.timedelta(days=days)


def can_fill_therapist_forms(user: AbstractBaseUser, session: TherapySession) -> bool:
    """Only the dyad's own therapist rates the relationship from the therapist's side."""
    return is_dyad_therapist(user, session.dyad)


@transaction.atomic
def therapist_forms_save(
    *,
    actor_user: AbstractBaseUser,
    session: TherapySession,
    instruments: list[Instrument],
    answers: dict[int, dict[int, int]],
) -> list[Administration]:
    """Create the therapist's administrations, or correct existing ones (recorded)."""
    require_dyad_therapist(
        actor_user, session.dyad, "Only the dyad's therapist fills in the therapist forms"
    )
    if not session.attended:
        raise ValidationError(_("The client did not attend this session; no forms are due."))
    member = require_staff(actor_user)  # found: the dyad's therapist is a member
    days = form_settings_for(session.dyad.clinic).correction_days
    now = timezone.now()
    existing = {
        a.instrument_code: a
        for a in Administration.objects.select_for_update().filter(
            session=session, rater=Instrument.Rater.THERAPIST
        )
    }
    saved = []
    for instrument in instruments:
        given = answers.get(instrument.pk, {})
        previous = existing.get(instrument.code)
        if previous is None:
            rows = administration_rows(
                session=session,
                instrument=instrument,
                answers=given,
                submitted_at=now,
                submitted_by=member,
            )
            if rows.result.missing:
                raise ValidationError(_("Please answer every question."))
            saved.append(save_rows(rows))
            continue
        if now > correction_deadline(previous, days):
            raise ValidationError(
                _("The %(days)d-day correction period for %(code)s has ended.")
                % {"days": days, "code": previous.instrument_code}
            )
        saved.append(_correct(previous, given, member))
    return saved


def _correct(
    administration: Administration, given: dict[int, int], member: StaffMember
) -> Administration:
    old = dict(administration.answers.values_list("item_number", "value"))
    changes = {
        str(n): [old.get(n), given.get(n)]
        for n in sorted(set(old) | set(given))
        if old.get(n) != given.get(n)
    }
    if not changes:
        return administration
    spec = administration.instrument.spec  # corrections keep the version first answered
    result = score_answers(spec, given)
    if result.missing:
        raise ValidationError(_("Please answer every question."))
    Answer.objects.filter(administration=administration).delete()
    Score.objects.filter(administration=administration).delete()
    answers = answer_rows(administration.instrument, given)
    scores = score_rows(result)
    for row in answers + scores:
        row.administration = administration
    Answer.objects.bulk_create(answers)
    Score.objects.bulk_create(scores)
    administration.risk_flag = result.has_risk
    administration.save(update_fields=["risk_flag"])
    AdministrationCorrection.objects.create(
        administration=administration, corrected_by=member, changes=changes
    )
    return administration
