"""The client's submit in few statements, with every guarantee kept: one transaction,
counted rate limits (refused and rolled-back attempts too), the saved mark committed with
the forms, one set stored for two simultaneous submits."""

from __future__ import annotations

import re
import threading
import uuid

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import RateLimitBucket
from dyad.lib import ratelimit
from dyad.lib.session_security import SAVED_AT_KEY
from rri_forms.form_input import parse_answers
from rri_forms.models import Administration, ClientLink
from rri_forms.selectors import instruments_by_ids
from rri_forms.services.client_forms import Outcome, client_forms_submit
from rri_forms.services.links import link_issue
from rri_forms.views.client import SAVED_KEY, SESSION_KEY
from tests.conftest import CsrfClient
from tests.factories import make_administration
from tests.rri_forms.conftest import complete_answers

pytestmark = pytest.mark.django_db


def _phone_with_form(token: str) -> tuple[CsrfClient, str]:
    phone = CsrfClient()
    phone.get(reverse("client_link", args=[token]))
    body = phone.get(reverse("client_form")).content.decode()
    return phone, re.search(r'name="submission_id" value="([0-9a-f-]+)"', body).group(1)


def _count(scope: str, identity: object) -> int:
    bucket = RateLimitBucket.objects.filter(key=ratelimit._key(scope, identity)).first()
    return bucket.count if bucket else 0


def _session_data(phone: CsrfClient) -> dict:
    key = phone.cookies[settings.SESSION_COOKIE_NAME].value
    return Session.objects.get(session_key=key).get_decoded()


@pytest.mark.django_db(transaction=True)  # real commits (the session store acts on them)
def test_a_submit_is_three_statements_in_one_transaction_with_one_commit(
    issued_link, client_instruments
):
    link, token = issued_link
    phone, submission_id = _phone_with_form(token)
    data = {**complete_answers(client_instruments), "submission_id": submission_id}
    atomic: list[bool] = []

    def depth(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        atomic.append(connection.in_atomic_block)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(depth):
        response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 302 and response["Location"] == reverse("client_saved")
    statements = [q["sql"].strip() for q in queries.captured_queries]
    assert len(statements) == 5, "\n".join(s[:90] for s in statements)
    session_read, begin, lock_and_count, save, commit = statements
    assert session_read.startswith('SELECT "session_data"')
    assert (begin, commit) == ("BEGIN", "COMMIT")  # one transaction, one commit
    assert "clinic_ratelimitbucket" in lock_and_count and "FOR UPDATE" in lock_and_count
    assert save.startswith("WITH p AS") and "rri_forms_answer" in save
    # The link is marked used and the session saved in the forms' statement.
    assert 'UPDATE "rri_forms_clientlink"' in save and 'UPDATE "django_session"' in save
    # The history context is set once, with the transaction's first writing statement.
    assert lock_and_count.startswith("SELECT set_config('pghistory.context_id'")
    assert sum("set_config" in s for s in statements) == 1
    # Everything after the session read runs inside the service's one atomic block: the
    # counts, the forms, the link and the session's saved mark commit together.
    assert atomic == [False, True, True]
    link.refresh_from_db()
    assert link.used_at is not None


def test_the_saved_mark_and_the_idle_expiry_are_committed_with_the_forms(
    issued_link, client_instruments
):
    link, token = issued_link
    phone, submission_id = _phone_with_form(token)
    data = {**complete_answers(client_instruments), "submission_id": submission_id}
    before = timezone.now()
    response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 302
    stored = _session_data(phone)
    assert stored[SAVED_KEY] == link.pk
    assert isinstance(stored[SAVED_AT_KEY], int)
    row = Session.objects.get(session_key=phone.cookies[settings.SESSION_COOKIE_NAME].value)
    assert (row.expire_date - before).total_seconds() >= settings.SESSION_COOKIE_AGE - 5
    assert (
        settings.SESSION_COOKIE_NAME in response.cookies
    )  # the cookie's lifetime is renewed as before
    # The saved page works from that mark.
    assert phone.get(reverse("client_saved")).status_code == 200


def test_rate_limits_count_every_attempt_including_refused_ones(
    issued_link, client_instruments, settings
):
    settings.RATELIMITS = {**settings.RATELIMITS, "client_submit_link": "2/h"}
    link, token = issued_link
    phone, submission_id = _phone_with_form(token)
    incomplete = {"submission_id": submission_id}  # no answers: the form comes back
    assert phone.post_form(reverse("client_form"), incomplete).status_code == 200
    assert phone.post_form(reverse("client_form"), incomplete).status_code == 200
    refused = phone.post_form(reverse("client_form"), incomplete)
    assert refused.status_code == 429 and refused["Retry-After"]
    full = {**complete_answers(client_instruments), "submission_id": submission_id}
    assert phone.post_form(reverse("client_form"), full).status_code == 429
    assert _count("client_submit_link", link.pk) == 4
    assert _count("client_submit_ip", "127.0.0.1") == 4
    assert not Administration.objects.filter(session_id=link.session_id).exists()


def test_a_bad_submission_id_is_counted_too(issued_link):
    link, token = issued_link
    phone, _ = _phone_with_form(token)
    assert phone.post_form(reverse("client_form"), {"submission_id": "x"}).status_code == 400
    assert _count("client_submit_link", link.pk) == 1


def test_an_attempt_rolled_back_by_a_constraint_stays_counted(
    issued_link, client_instruments, personas
):
    """A form of the session stored meanwhile by another path: the insert fails, the whole
    transaction (with its counts) rolls back, and the attempt is counted again."""
    link, token = issued_link
    phone, submission_id = _phone_with_form(token)
    first = client_instruments[0]
    make_administration(personas.session_a1, first)
    data = {**complete_answers(client_instruments), "submission_id": submission_id}
    response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 410
    assert _count("client_submit_link", link.pk) == 1
    assert SAVED_KEY not in _session_data(phone)
    link.refresh_from_db()
    assert link.used_at is None


def test_an_unknown_link_in_the_session_is_a_404(issued_link, client_instruments):
    _link, token = issued_link
    phone, submission_id = _phone_with_form(token)
    session = phone.session
    session[SESSION_KEY] = 10**9
    session.save()
    data = {**complete_answers(client_instruments), "submission_id": submission_id}
    assert phone.post_form(reverse("client_form"), data).status_code == 404
    assert not Administration.objects.exists()


def test_a_link_revoked_while_answering_saves_nothing(issued_link, client_instruments):
    link, token = issued_link
    phone, submission_id = _phone_with_form(token)
    ClientLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    data = {**complete_answers(client_instruments), "submission_id": submission_id}
    assert phone.post_form(reverse("client_form"), data).status_code == 410
    assert not Administration.objects.filter(session_id=link.session_id).exists()


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submits_through_the_counted_path_store_one_set(personas):
    link, _ = link_issue(actor_user=personas.therapist_a1.user, session=personas.session_a1)
    instruments = instruments_by_ids(link.instrument_ids)
    data = complete_answers(instruments)
    submission = uuid.uuid4()
    barrier = threading.Barrier(2)
    outcomes = []
    limits = (("client_submit_link", link.pk), ("client_submit_ip", "192.0.2.40"))

    def submit() -> None:
        try:
            barrier.wait()
            outcomes.append(
                client_forms_submit(
                    link_id=link.pk,
                    submission_id=submission,
                    parse=lambda found: parse_answers(found, data),
                    rate_limits=limits,
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.outcome.value for o in outcomes) == sorted(
        [Outcome.SAVED.value, Outcome.REPLAYED.value]
    )
    assert Administration.objects.filter(session_id=link.session_id).count() == len(instruments)
    assert _count("client_submit_link", link.pk) == 2
    assert _count("client_submit_ip", "192.0.2.40") == 2


def test_a_failure_after_the_saved_mark_keeps_neither_forms_nor_mark(
    issued_link, client_instruments, monkeypatch
):
    from django.db import OperationalError

    from rri_forms.views import client as views

    link, token = issued_link
    phone, submission_id = _phone_with_form(token)
    real_mark = views._mark_saved

    def mark_then_fail(session, parsed_with, link_id):  # type: ignore[no-untyped-def]
        real_mark(session, parsed_with, link_id)  # the session row is updated in the transaction…
        raise OperationalError("server closed the connection unexpectedly")  # …then this

    monkeypatch.setattr(views, "_mark_saved", mark_then_fail)
    data = {**complete_answers(client_instruments), "submission_id": submission_id}
    response = phone.post_form(reverse("client_form"), data)
    assert response.status_code == 503
    assert SAVED_KEY not in _session_data(phone)
    assert not Administration.objects.filter(session_id=link.session_id).exists()
    assert phone.get(reverse("client_saved")).status_code == 404
