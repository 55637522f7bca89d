from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit

import pytest
from django.urls import reverse

from tests.conftest import CsrfClient
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_renders(personas):
    response = CsrfClient().get(reverse("login"))
    assert response.status_code == 200
    assert "Sign in" in response.content.decode()


def test_login_with_password_lands_on_role_home(personas):
    http = CsrfClient()
    http.get(reverse("login"))
    response = http.post_form(
        reverse("login"), {"username": "therapist_a1", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("therapist_home")


def test_wrong_password_is_a_clear_error(personas):
    http = CsrfClient()
    response = http.post_form(reverse("login"), {"username": "therapist_a1", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


OFF_SITE = [
    "https://evil.example/",
    "//evil.example",
    "/\\evil.example",  # browsers read a backslash as a slash: //evil.example
    "https:evil.example",
    "\\\\evil.example",
    " //evil.example",
]


def _stays_on_site(location: str) -> bool:
    target = urljoin("http://testserver/accounts/login/", location.replace("\\", "/"))
    return urlsplit(target).netloc == "testserver"


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_login_next_cannot_redirect_off_site(personas, next_url):
    http = CsrfClient()
    response = http.post_form(
        reverse("login"), {"username": "therapist_a1", "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_logout_next_cannot_redirect_off_site(personas, login, next_url):
    http = login("therapist_a1")
    response = http.post_form(f"{reverse('logout')}?next={quote(next_url)}", {"next": next_url})
    assert response.status_code == 302
    assert _stays_on_site(response["Location"]), response["Location"]
    assert response["Location"] == reverse("login")


def test_login_next_on_site_is_followed(personas):
    http = CsrfClient()
    response = http.post_form(
        reverse("login"), {"username": "therapist_a1", "password": PASSWORD, "next": "/caseload/"}
    )
    assert response["Location"] == "/caseload/"


def test_logout_is_post_only_and_ends_session(personas, login):
    http = login("therapist_a1")
    assert http.get(reverse("logout")).status_code == 405
    http.post_form(reverse("logout"))
    response = http.get(reverse("caseload"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_staff_without_membership_is_refused(db):
    from tests.factories import UserFactory

    user = UserFactory()
    http = CsrfClient()
    http.force_login(user)
    assert http.get(reverse("caseload")).status_code == 403


def test_deactivated_staff_lose_access(personas, login):
    http = login("therapist_a1")
    personas.therapist_a1.user.is_active = False
    personas.therapist_a1.user.save()
    response = http.get(reverse("caseload"))
    assert response.status_code == 302
