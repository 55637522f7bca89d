from __future__ import annotations

import pytest
from django.urls import reverse

from rri_forms.models import ClinicFormSettings
from rri_forms.services.links import link_issue

pytestmark = pytest.mark.django_db


def _post(http, **overrides):
    data = {
        "client_codes": ["RRI-C-SF", "SESSION-CHECK"],
        "symptom_codes": ["PHQ-9"],
        "symptom_every": "3",
        "therapist_codes": ["RRI-T"],
        "link_lifetime_hours": "24",
        "correction_days": "2",
        "reminder_count": "0",
        "reminder_after_hours": "24",
        "quiet_from_hour": "21",
        "quiet_until_hour": "8",
    }
    data.update(overrides)
    return http.post_form(reverse("form_settings"), data)


def test_admin_changes_forms_and_links_follow(personas, login):
    response = _post(login("admin_a"))
    assert response.status_code == 302
    settings = ClinicFormSettings.objects.get(clinic=personas.clinic_a)
    assert settings.client_codes == ["RRI-C-SF", "SESSION-CHECK"]
    assert settings.codes_for("client", 3) == ["RRI-C-SF", "SESSION-CHECK", "PHQ-9"]
    link, _ = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    assert len(link.instrument_ids) == 3  # session 3 is due for symptoms every 3rd session
    # Clinic B keeps the defaults.
    assert not ClinicFormSettings.objects.filter(clinic=personas.clinic_b).exists()


def test_defaults_follow_the_cadence(personas):
    settings = ClinicFormSettings(clinic=personas.clinic_a)
    assert settings.codes_for("client", 1) == ["RRI-C", "SESSION-CHECK", "PHQ-9", "GAD-7"]
    assert settings.codes_for("client", 2) == ["RRI-C", "SESSION-CHECK"]
    assert settings.codes_for("client", 8) == ["RRI-C", "SESSION-CHECK", "PHQ-9", "GAD-7"]
    assert settings.codes_for("therapist", 2) == ["RRI-T", "PROGRESS-T"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("client_codes", ["RRI-T"], "not one of the available choices"),
        ("symptom_codes", ["SESSION-CHECK"], "cannot be both"),
        ("link_lifetime_hours", "0", "greater than or equal to 1"),
        ("symptom_every", "x", "Enter a whole number"),
    ],
)
def test_bad_settings_are_refused(personas, login, field, value, message):
    response = _post(login("admin_a"), **{field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ClinicFormSettings.objects.exists()


def test_admin_sees_placeholder_banner(personas, login):
    body = login("admin_a").get(reverse("caseload")).content.decode()
    assert "placeholder items" in body and "RRI-C v1" in body
    assert (
        "placeholder items" not in login("therapist_a1").get(reverse("caseload")).content.decode()
    )
