"""Personas shared by the whole suite.

Clinic A: an admin, a supervisor (supervises therapist A1 only), therapists A1 and A2,
each with a client in a dyad with sessions. Clinic B: therapist B1 with a client.
`anonymous` is a plain client; every persona's client enforces CSRF checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.conf import settings
from django.middleware.csrf import CSRF_ALLOWED_CHARS
from django.test import Client as HttpClient
from django.utils.crypto import get_random_string

from clinic.models import Clinic, Dyad, StaffMember, TherapySession
from tests.factories import (
    ClientFactory,
    ClinicFactory,
    DyadFactory,
    SessionFactory,
    StaffFactory,
    SupervisionFactory,
)


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _shared_cache_emptied(request, django_db_blocker):
    """The cache is a table (CACHE_URL's default) and so are Procrastinate's queues (models
    Django does not manage): a test's rollback empties them, but the flush after a
    transactional test leaves them alone, so they are emptied here (a job left behind would
    be run by the next test's worker)."""
    yield
    if "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        from django.core.cache import cache
        from django.db import connection

        with django_db_blocker.unblock():
            cache.clear()
            with connection.cursor() as cursor:
                cursor.execute(
                    "TRUNCATE procrastinate_jobs, procrastinate_events, "
                    "procrastinate_periodic_defers, procrastinate_workers CASCADE"
                )


@pytest.fixture(autouse=True)
def _two_factor_on(settings):
    """The suite runs with production's second-factor rule (off by default under DEBUG)."""
    settings.REQUIRE_2FA = True
    settings.THERAPISTS_NEED_2FA = False


def verify_second_factor(http: HttpClient, user) -> None:
    """Mark a signed-in test client's session as past the second factor (TOTP device)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(user=user, defaults={"name": "test"})
    session = http.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@dataclass
class Personas:
    clinic_a: Clinic
    clinic_b: Clinic
    admin_a: StaffMember
    supervisor_a: StaffMember
    therapist_a1: StaffMember
    therapist_a2: StaffMember
    therapist_b1: StaffMember
    dyad_a1: Dyad
    dyad_a2: Dyad
    dyad_b1: Dyad
    session_a1: TherapySession
    session_a2: TherapySession
    session_b1: TherapySession

    def by_name(self, name: str) -> StaffMember:
        return getattr(self, name)


def _dyad_with_sessions(therapist: StaffMember, code: str, n: int = 3) -> tuple[Dyad, list]:
    client = ClientFactory(clinic=therapist.clinic, code=code, display_name="Robin")
    dyad = DyadFactory(therapist=therapist, client=client)
    sessions = [SessionFactory(dyad=dyad, number=i) for i in range(1, n + 1)]
    return dyad, sessions


@pytest.fixture
def personas(db) -> Personas:
    clinic_a = ClinicFactory(name="Clinic A", slug="clinic-a")
    clinic_b = ClinicFactory(name="Clinic B", slug="clinic-b")
    staff = {
        "admin_a": StaffFactory(clinic=clinic_a, role="admin", user__username="admin_a"),
        "supervisor_a": StaffFactory(
            clinic=clinic_a, role="supervisor", user__username="supervisor_a"
        ),
        "therapist_a1": StaffFactory(clinic=clinic_a, user__username="therapist_a1"),
        "therapist_a2": StaffFactory(clinic=clinic_a, user__username="therapist_a2"),
        "therapist_b1": StaffFactory(clinic=clinic_b, user__username="therapist_b1"),
    }
    SupervisionFactory(supervisor=staff["supervisor_a"], therapist=staff["therapist_a1"])
    dyad_a1, sessions_a1 = _dyad_with_sessions(staff["therapist_a1"], "A1-0001")
    dyad_a2, sessions_a2 = _dyad_with_sessions(staff["therapist_a2"], "A2-0001")
    dyad_b1, sessions_b1 = _dyad_with_sessions(staff["therapist_b1"], "B1-0001")
    return Personas(
        clinic_a=clinic_a,
        clinic_b=clinic_b,
        dyad_a1=dyad_a1,
        dyad_a2=dyad_a2,
        dyad_b1=dyad_b1,
        session_a1=sessions_a1[-1],
        session_a2=sessions_a2[-1],
        session_b1=sessions_b1[-1],
        **staff,
    )


class CsrfClient(HttpClient):
    """A test client that enforces CSRF; `post_form` sends a token the way a browser does."""

    def __init__(self, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)

    def post_form(self, url: str, data: dict | None = None, **extra):
        cookie = self.cookies.get(settings.CSRF_COOKIE_NAME)
        if cookie is None or not cookie.value:
            self.cookies[settings.CSRF_COOKIE_NAME] = get_random_string(32, CSRF_ALLOWED_CHARS)
            cookie = self.cookies[settings.CSRF_COOKIE_NAME]
        return self.post(url, {**(data or {}), "csrfmiddlewaretoken": cookie.value}, **extra)


@pytest.fixture
def login(personas):
    """login("therapist_a1") -> a CSRF-enforcing client signed in as that persona."""

    def _login(name: str) -> CsrfClient:
        http = CsrfClient()
        if name != "anonymous":
            http.force_login(personas.by_name(name).user)
            verify_second_factor(http, personas.by_name(name).user)
        return http

    return _login


from tests.smtp_sink import smtp_sink  # noqa: E402,F401  (fixture: SMTP server on loopback)
from tests.workers import start_worker  # noqa: E402,F401  (fixture: real worker processes)
