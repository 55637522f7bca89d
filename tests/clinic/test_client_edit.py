"""Correcting a client's code, first name or email."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.models import AccessLog, Client
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def _edit(personas, **data):
    client = personas.dyad_a1.client
    fields = {"code": client.code, "display_name": client.display_name, "email": client.email}
    return reverse("client_edit", args=[client.pk]), {**fields, **data}


def test_therapist_corrects_their_clients_email_and_returns_to_the_dyad(personas, login):
    url, data = _edit(personas, email="robin@example.org", code="A1-0100")
    dyad = personas.dyad_a1
    response = login("therapist_a1").post_form(f"{url}?dyad={dyad.pk}", data)
    assert response.status_code == 302
    assert response["Location"] == reverse("dyad_detail", args=[dyad.pk])
    client = Client.objects.get(pk=dyad.client_id)
    assert client.email == "robin@example.org" and client.code == "A1-0100"


def test_a_duplicate_code_is_a_readable_error_and_saves_nothing(personas, login):
    ClientFactory(clinic=personas.clinic_a, code="A1-TAKEN")
    url, data = _edit(personas, code="A1-TAKEN", email="changed@example.org")
    response = login("admin_a").post_form(url, data)
    assert response.status_code == 200
    assert "already has a client with this code" in response.content.decode()
    client = Client.objects.get(pk=personas.dyad_a1.client_id)
    assert client.code != "A1-TAKEN" and client.email != "changed@example.org"


def test_a_pseudonymised_client_cannot_be_reidentified(personas, login):
    client = personas.dyad_a1.client
    Client.objects.filter(pk=client.pk).update(code="ERASED-0A1B2C3D", display_name="", email="")
    url, data = _edit(personas, code="ERASED-0A1B2C3D", display_name="Robin")
    response = login("admin_a").post_form(url, data)
    assert "pseudonymised" in response.content.decode()
    assert Client.objects.get(pk=client.pk).display_name == ""


def test_the_way_back_never_points_at_an_invisible_dyad(personas, login):
    url, data = _edit(personas)
    response = login("therapist_a1").post_form(f"{url}?dyad={personas.dyad_b1.pk}", data)
    assert response["Location"] == reverse("home")


def test_opening_the_details_is_logged_and_a_refused_look_is_not(personas, login):
    url, _data = _edit(personas)
    assert login("therapist_a2").get(url).status_code == 404  # not their client
    assert not AccessLog.objects.exists()
    assert login("therapist_a1").get(url).status_code == 200
    entry = AccessLog.objects.get()
    assert entry.action == AccessLog.Action.VIEW_CLIENT and entry.staff == personas.therapist_a1
    assert entry.client_id == personas.dyad_a1.client_id and entry.path == url
    assert personas.dyad_a1.client.display_name not in entry.detail
