"""The demo clinic: realistic-looking staff, clients, dyads and sessions.

Deterministic (seeded) so screenshots, docs and tests describe the same data. Later
layers (questionnaires, outcomes) add their data on top of what this builds.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from clinic.models import Client, Clinic, Dyad, StaffMember, Supervision, TherapySession

DEMO_SLUG = "demo"
OTHER_SLUG = "harbour"
DEMO_PASSWORD = "dyad-demo-2026"  # noqa: S105 - documented demo credential, DEBUG only

# (username, display name, role). Each supervisor oversees five therapists (therapist …
# therapist5, therapist6 … therapist10): the team page's therapist model needs at least five.
DEMO_STAFF = [
    ("admin", "Alex Admin", StaffMember.Role.ADMIN),
    ("supervisor", "Dr. Sam Rivera", StaffMember.Role.SUPERVISOR),
    ("supervisor2", "Dr. Mei Chen", StaffMember.Role.SUPERVISOR),
    ("therapist", "Jordan Okafor", StaffMember.Role.THERAPIST),
    ("therapist2", "Priya Nair", StaffMember.Role.THERAPIST),
    ("therapist3", "Lukas Berg", StaffMember.Role.THERAPIST),
    ("therapist4", "Ana Souza", StaffMember.Role.THERAPIST),
    ("therapist5", "Tom Walsh", StaffMember.Role.THERAPIST),
    ("therapist6", "Yuki Tanaka", StaffMember.Role.THERAPIST),
    ("therapist7", "Marta Kowalski", StaffMember.Role.THERAPIST),
    ("therapist8", "Daniel Mensah", StaffMember.Role.THERAPIST),
    ("therapist9", "Sofia Rossi", StaffMember.Role.THERAPIST),
    ("therapist10", "Ben Carter", StaffMember.Role.THERAPIST),
]
SUPERVISEES = 5  # per supervisor
DEMO_DYADS = 50  # five per therapist
OTHER_STAFF = [
    ("harbour-admin", "Harbour Admin", StaffMember.Role.ADMIN),
    ("harbour-therapist", "Harbour Therapist", StaffMember.Role.THERAPIST),
]
FIRST_NAMES = [
    "Robin", "Kim", "Noor", "Eli", "Sasha", "Maya", "Leo", "Ivy", "Omar", "Zoe", "Finn",
    "Lena", "Ravi", "Tess", "Hugo", "Ada", "", "", "", "",
]  # fmt: skip


@dataclass
class DemoClinic:
    clinic: Clinic
    staff: dict[str, StaffMember] = field(default_factory=dict)
    dyads: list[Dyad] = field(default_factory=list)
    sessions: list[TherapySession] = field(default_factory=list)


def _make_staff(clinic: Clinic, rows: list[tuple[str, str, str]], password_hash: str):  # type: ignore[no-untyped-def]
    user_model = get_user_model()
    members = {}
    for username, name, role in rows:
        first, _, last = name.replace("Dr. ", "").partition(" ")
        user = user_model.objects.create(
            username=username, first_name=first, last_name=last, password=password_hash
        )
        members[username] = StaffMember.objects.create(
            user=user, clinic=clinic, role=role, display_name=name
        )
    return members


def _make_dyads(
    demo: DemoClinic,
    therapists: list[StaffMember],
    n_clients: int,
    code_prefix: str,
    rng: random.Random,
    today: datetime.date,
) -> None:
    sessions: list[TherapySession] = []
    for i in range(n_clients):
        therapist = therapists[i % len(therapists)]
        n_sessions = rng.randint(3, 25)
        weeks_back = n_sessions + rng.randint(0, 8)
        started = today - datetime.timedelta(weeks=weeks_back, days=rng.randint(0, 6))
        client = Client.objects.create(
            clinic=demo.clinic,
            code=f"{code_prefix}-{i + 1:04d}",
            display_name=rng.choice(FIRST_NAMES),
        )
        ended = i % 9 == 8  # a few finished courses of therapy
        session_dates = []
        day = started
        for _number in range(n_sessions):
            if day > today:
                break
            session_dates.append(day)
            day += datetime.timedelta(days=7 + rng.choice([0, 0, 0, 1, -1, 7]))
        dyad = Dyad.objects.create(
            clinic=demo.clinic,
            therapist=therapist,
            client=client,
            started_on=started,
            status=Dyad.Status.ENDED if ended else Dyad.Status.ACTIVE,
            ended_on=session_dates[-1] if ended else None,
        )
        demo.dyads.append(dyad)
        for number, date in enumerate(session_dates, start=1):
            attendance = (
                TherapySession.Attendance.NO_SHOW
                if number > 2 and rng.random() < 0.06
                else TherapySession.Attendance.ATTENDED
            )
            sessions.append(
                TherapySession(
                    dyad=dyad, number=number, date=date, attendance=attendance, created_by=therapist
                )
            )
    demo.sessions.extend(TherapySession.objects.bulk_create(sessions))


@transaction.atomic
def build_demo(*, seed: int = 2018) -> tuple[DemoClinic, DemoClinic]:
    """Create the demo clinic and a second, separate clinic. Caller checks idempotency."""
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
    password_hash = make_password(DEMO_PASSWORD)
    main = DemoClinic(Clinic.objects.create(name="Lakeside Psychotherapy (demo)", slug=DEMO_SLUG))
    today = main.clinic.today()
    main.staff = _make_staff(main.clinic, DEMO_STAFF, password_hash)
    therapists = [m for m in main.staff.values() if m.is_therapist]
    sup1, sup2 = main.staff["supervisor"], main.staff["supervisor2"]
    Supervision.objects.bulk_create(
        [Supervision(supervisor=sup1, therapist=t) for t in therapists[:SUPERVISEES]]
        + [Supervision(supervisor=sup2, therapist=t) for t in therapists[SUPERVISEES:]]
    )
    _make_dyads(main, therapists, DEMO_DYADS, "C", rng, today)

    other = DemoClinic(Clinic.objects.create(name="Harbour Counselling (demo)", slug=OTHER_SLUG))
    other.staff = _make_staff(other.clinic, OTHER_STAFF, password_hash)
    _make_dyads(other, [other.staff["harbour-therapist"]], 4, "H", rng, today)
    return main, other


def demo_exists() -> bool:
    return Clinic.objects.filter(slug=DEMO_SLUG).exists()


def demo_logins_text() -> str:
    names = ", ".join(u for u, _, _ in DEMO_STAFF + OTHER_STAFF)
    return f"Demo logins (password {DEMO_PASSWORD}): {names}"
