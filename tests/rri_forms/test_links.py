from __future__ import annotations

import re
import threading
import uuid

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from clinic.models import TherapySession
from rri_forms.models import Administration, ClientLink
from rri_forms.models.links import hash_token
from rri_forms.services.client_forms import Outcome, client_forms_submit
from rri_forms.services.links import link_issue

pytestmark = pytest.mark.django_db


def test_token_is_stored_only_hashed(issued_link):
    link, token = issued_link
    assert len(token) >= 22  # 16 random bytes, URL-safe
    assert link.token_hash == hash_token(token)
    assert token not in str(ClientLink.objects.filter(pk=link.pk).values().get())


def test_logging_a_session_shows_qr_and_link(personas, login):
    http = login("therapist_a1")
    response = http.post_form(
        reverse("session_new", args=[personas.dyad_a1.pk]),
        {"number": "4", "date": personas.clinic_a.today().isoformat(), "attendance": "attended"},
        follow=True,
    )
    body = response.content.decode()
    assert "<svg" in body and "segno" in body
    url = re.search(r'id="client-link" class="form-control" readonly value="([^"]+)"', body)
    token = url.group(1).rsplit("/", 1)[1]
    session = TherapySession.objects.get(dyad=personas.dyad_a1, number=4)
    assert ClientLink.objects.get(session=session).token_hash == hash_token(token)
    # Shown once: a reload no longer shows the link.
    again = http.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert token not in again and "Show a new link" in again


def _rows_containing(text: str) -> list[str]:
    """Every table (each row as JSON) and every decoded django_session row holding `text`."""
    from django.contrib.sessions.backends.db import SessionStore

    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(
                f"SELECT count(*) FROM {connection.ops.quote_name(table)} t "  # noqa: S608
                "WHERE row_to_json(t)::text LIKE %s",
                [f"%{text}%"],
            )
            if cursor.fetchone()[0]:
                found.append(table)
        cursor.execute("SELECT session_data FROM django_session")
        for (data,) in cursor.fetchall():
            if text in str(SessionStore().decode(data)):
                found.append("django_session (decoded)")
    return found


@pytest.mark.parametrize("secure", [False, True])
def test_fresh_token_has_no_server_side_copy_and_shows_once(personas, login, settings, secure):
    settings.SECURE_COOKIES = secure
    http = login("therapist_a1")
    issued = http.post_form(reverse("link_new", args=[personas.session_a1.pk]))
    name = "__Host-freshlink" if secure else "freshlink"
    cookie = issued.cookies[name]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert bool(cookie["secure"]) is secure and 0 < int(cookie["max-age"]) <= 60
    detail_url = reverse("session_detail", args=[personas.session_a1.pk])
    assert cookie["path"] == ("/" if secure else detail_url)
    assert issued["Location"] == detail_url  # never in a URL

    page = http.get(detail_url)
    body = page.content.decode()
    token = re.search(r"readonly value=\"[^\"]*/f/([^\"]+)\"", body)
    token = token.group(1)
    link = ClientLink.objects.get(session=personas.session_a1, revoked_at__isnull=True)
    assert link.token_hash == hash_token(token)
    assert "no-store" in page["Cache-Control"]
    assert page.cookies[name].value == "" and page.cookies[name]["max-age"] == 0
    assert "rri_forms_clientlink" in _rows_containing(link.token_hash)  # the search works
    assert _rows_containing(token) == []
    assert token not in http.get(detail_url).content.decode()


def test_fresh_token_cookie_of_another_user_or_session_shows_nothing(personas, login):
    therapist = login("therapist_a1")
    therapist.post_form(reverse("link_new", args=[personas.session_a1.pk]))
    stolen = therapist.cookies["freshlink"].value
    admin = login("admin_a")
    admin.cookies["freshlink"] = stolen
    page = admin.get(reverse("session_detail", args=[personas.session_a1.pk]))
    assert page.status_code == 200 and 'id="client-link"' not in page.content.decode()
    therapist.cookies["freshlink"] = stolen + "x"
    page = therapist.get(reverse("session_detail", args=[personas.session_a1.pk]))
    assert 'id="client-link"' not in page.content.decode()


def test_no_show_sessions_get_no_link(personas, login):
    http = login("therapist_a1")
    http.post_form(
        reverse("session_new", args=[personas.dyad_a1.pk]),
        {"number": "4", "date": personas.clinic_a.today().isoformat(), "attendance": "no_show"},
    )
    assert not ClientLink.objects.exists()


def test_reissue_revokes_the_old_link(personas, issued_link):
    old, _token = issued_link
    new, _ = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    old.refresh_from_db()
    assert old.state == ClientLink.State.REVOKED and new.is_live


def test_revoke_view(personas, login, issued_link):
    link, _ = issued_link
    login("therapist_a1").post_form(reverse("link_revoke", args=[personas.session_a1.pk]))
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_email_link_is_queued_then_sent_without_clinical_data(personas, login):
    from procrastinate.contrib.django.models import ProcrastinateJob

    from rri_forms.models import LinkEmail
    from rri_forms.services.outbox import deliver

    client = personas.dyad_a1.client
    client.email = "robin@example.org"
    client.save()
    login("therapist_a1").post_form(reverse("link_email", args=[personas.session_a1.pk]))
    assert not mail.outbox  # the request only queued it
    email = LinkEmail.objects.get()
    assert email.status == "queued" and email.origin == "http://testserver"
    job = ProcrastinateJob.objects.get(task_name="rri_forms.send_link_email")
    assert job.args == {"email_id": email.pk} and job.status == "todo"

    assert deliver(email.pk, last_try=False, retry_at=None).status == "sent"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["robin@example.org"]
    assert client.code not in message.body
    token = re.search(r"http://testserver/f/([A-Za-z0-9_-]+)", message.body).group(1)
    link = ClientLink.objects.get(token_hash=hash_token(token))
    assert link.emailed_at is not None
    assert token not in str(ClientLink.objects.filter(pk=link.pk).values().get())
    email.refresh_from_db()
    assert email.status == "sent" and email.sent_at is not None and email.attempts == 1


def test_email_without_address_is_a_clear_message(personas, login):
    response = login("therapist_a1").post_form(
        reverse("link_email", args=[personas.session_a1.pk]), follow=True
    )
    assert "no email address" in response.content.decode()
    assert not mail.outbox


def test_supervisor_cannot_issue_links(personas, login):
    response = login("supervisor_a").post_form(reverse("link_new", args=[personas.session_a1.pk]))
    assert response.status_code == 403
    assert not ClientLink.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submits_store_one_set(personas):
    from rri_forms.form_input import parse_answers
    from rri_forms.selectors import instruments_by_ids
    from tests.rri_forms.conftest import complete_answers

    link, _ = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    instruments = instruments_by_ids(link.instrument_ids)
    answers = parse_answers(instruments, complete_answers(instruments)).answers
    submission = uuid.uuid4()
    barrier = threading.Barrier(2)
    outcomes = []

    def submit():
        try:
            barrier.wait()
            outcomes.append(
                client_forms_submit(link_id=link.pk, submission_id=submission, answers=answers)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.outcome.value for o in outcomes) == sorted(
        [Outcome.SAVED.value, Outcome.REPLAYED.value]
    )
    assert Administration.objects.filter(rater="client").count() == 2
