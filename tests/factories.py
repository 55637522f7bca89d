"""Test data builders (factory_boy). Build, don't create, where no database is needed."""

from __future__ import annotations

import datetime

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from clinic.models import Client, Clinic, Dyad, StaffMember, Supervision, TherapySession
from rri_forms.models import Administration, Instrument
from rri_forms.selectors import current_instruments
from rri_forms.services.recording import administration_rows, save_rows

PASSWORD = "correct horse battery staple"


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)
    role = StaffMember.Role.THERAPIST
    display_name = factory.Sequence(lambda n: f"Staff {n}")


class SupervisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supervision


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    clinic = factory.SubFactory(ClinicFactory)
    code = factory.Sequence(lambda n: f"C-{n:04d}")


class DyadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dyad

    therapist = factory.SubFactory(StaffFactory)
    clinic = factory.SelfAttribute("therapist.clinic")
    client = factory.SubFactory(ClientFactory, clinic=factory.SelfAttribute("..clinic"))
    started_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=90))


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TherapySession

    dyad = factory.SubFactory(DyadFactory)
    number = factory.Sequence(lambda n: n + 1)
    date = factory.LazyAttribute(
        lambda o: o.dyad.started_on + datetime.timedelta(days=7 * (o.number - 1))
    )


def make_administration(
    session: TherapySession,
    instrument: str | Instrument,
    answers: dict[int, int | None] | None = None,
    *,
    value: int | None = None,
    submitted_by: StaffMember | None = None,
    submitted_at: datetime.datetime | None = None,
) -> Administration:
    """A completed form stored as the services store one (administration, answers, scores).

    `instrument` is an Instrument or the code of a current one; without `answers`, every
    item is answered `value` (or its scale's maximum).
    """
    if isinstance(instrument, str):
        (instrument,) = current_instruments([instrument])
    if answers is None:
        answers = {
            item.number: item.response_scale.max if value is None else value
            for item in instrument.spec.items
        }
    rows = administration_rows(
        session=session,
        instrument=instrument,
        answers=answers,
        submitted_at=submitted_at or timezone.now(),
        submitted_by=submitted_by,
    )
    return save_rows(rows)
