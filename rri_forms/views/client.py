"""The client's phone flow: link → start page → one form page → saved.

No account: the token in the link is exchanged for a mark in the browser's session and
the browser continues on token-free URLs. The form also carries a signed reference to
the link, so a session that expired while the client was answering does not lose the
answers. Every page here is private and never cached.
"""

from __future__ import annotations

import functools
import secrets
import uuid

import pghistory
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.core import signing
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from clinic import ratelimit
from clinic.session_security import refresh_idle_expiry
from rri_forms.form_input import ParsedAnswers, parse_answers
from rri_forms.models import ClientLink, Instrument
from rri_forms.rendering import render_items
from rri_forms.selectors import link_for_form, link_instruments, with_instrument_versions
from rri_forms.services.client_forms import Outcome, client_forms_submit
from rri_forms.services.links import link_for_token

SESSION_KEY = "client_link"
SAVED_KEY = "client_saved_link"
_SIGN_SALT = "rri_forms.client-link"
_LINK_MAX_AGE = 30 * 24 * 3600  # longest configurable link lifetime; expiry is checked too


def _problem(request: HttpRequest, reason: str, status: int) -> HttpResponse:
    return render(request, "rri_forms/client/problem.html", {"reason": reason}, status=status)


def _link_id(request: HttpRequest) -> int | None:
    """The id of the link this browser is answering for: from the session or, for a POST
    whose session expired while the client was answering, the form's signed reference."""
    link_id = request.session.get(SESSION_KEY)
    if link_id is None and request.method == "POST":
        try:
            link_id = signing.loads(
                request.POST.get("link_ref", ""), salt=_SIGN_SALT, max_age=_LINK_MAX_AGE
            )
        except signing.BadSignature:
            link_id = None
        if link_id is not None:
            request.session[SESSION_KEY] = link_id
    if not isinstance(link_id, int) or isinstance(link_id, bool):
        return None
    return link_id


def _link_from_request(request: HttpRequest, *, with_dyad: bool = False) -> ClientLink | None:
    """The link this browser is answering for. Only the start page needs the dyad (names);
    the form's GET skips that five-table join (~1 ms of CPU per request)."""
    link_id = _link_id(request)
    if link_id is None:
        return None
    if not with_dyad:
        return link_for_form(link_id)
    # With its instruments' row versions, so link_instruments can use its cache.
    links = with_instrument_versions(ClientLink.objects.all()).select_related(
        "session__dyad__clinic", "session__dyad__therapist", "session__dyad__client"
    )
    return links.filter(pk=link_id).first()


def _unusable(request: HttpRequest, link: ClientLink | None) -> HttpResponse | None:
    if link is None:
        return _problem(request, "unknown", 404)
    state = link.state
    if state == ClientLink.State.LIVE:
        return None
    if state == ClientLink.State.USED and request.session.get(SAVED_KEY) == link.pk:
        return redirect("client_saved")
    return _problem(request, state, 410)


@never_cache
@require_GET
def link_open(request: HttpRequest, token: str) -> HttpResponse:
    # An address that used up its unknown-token attempts is refused every token, so a
    # guesser cannot tell a real one by the answer (docs/security.md "Rate limits").
    ip = ratelimit.client_ip(request)
    refusal = ratelimit.first_refusal(
        ratelimit.exhausted("link_guess_ip", ip), ratelimit.hit("link_open_ip", ip)
    )
    link = None if refusal else link_for_token(token)
    if refusal is None:
        refusal = ratelimit.first_refusal(
            ratelimit.hit("link_guess_ip", ip)
            if link is None
            else ratelimit.hit("link_open_token", link.pk)
        )
    if refusal is not None:
        return ratelimit.ratelimited(request, refusal, lean=True)
    problem = _unusable(request, link)
    if problem is not None:
        return problem
    request.session.cycle_key()  # a fresh session id for the client's visit
    request.session[SESSION_KEY] = link.pk
    return redirect("client_start")


@never_cache
@require_GET
def client_start(request: HttpRequest) -> HttpResponse:
    link = _link_from_request(request, with_dyad=True)
    problem = _unusable(request, link)
    if problem is not None:
        return problem
    instruments = link_instruments(link)
    return render(
        request,
        "rri_forms/client/start.html",
        {
            "link": link,
            "dyad": link.session.dyad,
            "question_count": sum(len(i.spec.items) for i in instruments),
            "form_count": len(instruments),
        },
    )


def _form_context(  # type: ignore[no-untyped-def]
    instruments, parsed, submission_id, link_ref, save_failed
) -> dict[str, object]:
    sections = []
    missing_names = []
    for instrument in instruments:
        answers = parsed.answers.get(instrument.pk, {}) if parsed else {}
        missing = parsed.missing.get(instrument.pk, []) if parsed else []
        sections.append(
            {
                "instrument": instrument,
                "spec": instrument.spec,
                "items_html": render_items(instrument, answers, missing),
            }
        )
        if missing:
            missing_names.append(
                {
                    "title": instrument.spec.short_title,
                    "items": [{"number": n, "anchor": f"q-f{instrument.pk}_{n}"} for n in missing],
                }
            )
    return {
        "sections": sections,
        "missing": missing_names,
        "missing_count": parsed.missing_count if parsed else 0,
        "question_count": sum(len(i.spec.items) for i in instruments),
        "submission_id": submission_id,
        "link_ref": link_ref,
        "save_failed": save_failed,
    }


def _form_page(  # type: ignore[no-untyped-def]
    request, link_id, instruments, parsed=None, submission_id=None, status=200, save_failed=False
):
    context = _form_context(
        instruments,
        parsed,
        submission_id or uuid.uuid4(),
        signing.dumps(link_id, salt=_SIGN_SALT),
        save_failed,
    )
    return render(request, "rri_forms/client/form.html", context, status=status)


# The unanswered form page (every GET) differs between clients only in the CSRF token, the
# submission id and the signed link reference. Rendering the template cost ~0.6 ms of CPU,
# a fifth of the page's budget, so it is rendered once per language and instrument
# versions with random marks in those three places, and each GET fills them in. The shell
# is rendered without the request or the link (no context processors, no names): nothing
# about one client can end up in another's page. tests/rri_forms/test_client_flow.py checks
# that it equals the normal rendering.
_CSRF_MARK = secrets.token_hex(16)
_SUBMISSION_MARK = secrets.token_hex(16)
_LINK_REF_MARK = secrets.token_hex(16)
_shells: dict[tuple[object, ...], str] = {}
_SHELLS_KEPT = 64  # language × instrument-version sets in use: a handful


def _unanswered_form_page(
    request: HttpRequest, link: ClientLink, instruments: list[Instrument]
) -> HttpResponse:
    key = (
        get_language(),
        tuple((i.pk, i.wording_signature, i.structure_signature) for i in instruments),
    )
    shell = _shells.get(key)
    if shell is None:
        context = _form_context(instruments, None, _SUBMISSION_MARK, _LINK_REF_MARK, False)
        context["csrf_token"] = _CSRF_MARK
        shell = render_to_string("rri_forms/client/form.html", context)
        if len(_shells) >= _SHELLS_KEPT:
            _shells.clear()
        _shells[key] = shell
    page = (
        shell.replace(_CSRF_MARK, escape(get_token(request)))  # sets the CSRF cookie, as the tag
        .replace(_SUBMISSION_MARK, str(uuid.uuid4()))
        .replace(_LINK_REF_MARK, escape(signing.dumps(link.pk, salt=_SIGN_SALT)))
    )
    return HttpResponse(page)


@never_cache
@require_http_methods(["GET", "POST"])
def client_form(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _submit(request)
    link = _link_from_request(request)
    problem = _unusable(request, link)
    if problem is not None:
        return problem
    return _unanswered_form_page(request, link, link_instruments(link))


def _submit(request: HttpRequest) -> HttpResponse:
    """The form's POST. The link is not read before the service's transaction: the service
    locks it, counts the rate limits in that same statement, checks it (used, revoked,
    expired: the answers to a retry of a completed submit land on the same result) and
    parses the answers with its instruments (docs/benchmarks.md: a submit is one
    transaction of a few statements)."""
    link_id = _link_id(request)
    if link_id is None:
        return _problem(request, "unknown", 404)
    limits = (
        ("client_submit_link", link_id),
        ("client_submit_ip", ratelimit.client_ip(request)),
    )
    try:
        submission_id = uuid.UUID(request.POST.get("submission_id", ""))
    except ValueError:
        refusal = ratelimit.first_refusal(*ratelimit.hit_many(*limits))  # counted all the same
        if refusal is not None:
            return ratelimit.ratelimited(request, refusal, lean=True)
        return _problem(request, "bad_request", 400)
    parsed_with: list[tuple[list[Instrument], ParsedAnswers]] = []

    def parse(instruments: list[Instrument]) -> ParsedAnswers:
        parsed = parse_answers(instruments, request.POST)
        parsed_with.append((instruments, parsed))
        return parsed

    session = request.session
    saved_before = session.get(SAVED_KEY)
    try:
        with pghistory.context(client_link=link_id):  # the history's actor: this client link
            result = client_forms_submit(
                link_id=link_id,
                submission_id=submission_id,
                parse=parse,
                rate_limits=limits,
                before_commit=functools.partial(_mark_saved, session, link_id),
            )
    except (OperationalError, InterfaceError):
        if not parsed_with:
            raise  # nothing read yet: the generic 503 (clinic/errors.py)
        # The database failed mid-save: the transaction kept nothing. Give the answers
        # back, checked, so the client only has to press Send again (same submission id).
        instruments, parsed = parsed_with[-1]
        _unmark(session, saved_before)
        response = _form_page(
            request, link_id, instruments, parsed, submission_id, status=503, save_failed=True
        )
        response["Retry-After"] = "30"
        return response
    outcome = result.outcome
    if outcome == Outcome.SAVED:
        return redirect("client_saved")
    _unmark(session, saved_before)  # a mark set before a rollback (failed commit) goes too
    if outcome == Outcome.REPLAYED:
        session[SAVED_KEY] = link_id
        return redirect("client_saved")
    if outcome == Outcome.RATELIMITED:
        return ratelimit.ratelimited(request, result.refusal, lean=True)
    if outcome == Outcome.UNKNOWN:
        return _problem(request, "unknown", 404)
    if outcome == Outcome.INCOMPLETE:
        instruments, parsed = parsed_with[-1]
        return _form_page(request, link_id, instruments, parsed, submission_id)
    if outcome == Outcome.CONFLICT:
        return _problem(request, "conflict", 409)
    return _problem(request, outcome.value, 410)


def _mark_saved(session: SessionBase, link_id: int) -> None:
    """Inside the submit's transaction: the "saved" mark commits with the forms (one
    commit, and no window in which the forms are stored but the browser not told)."""
    session[SAVED_KEY] = link_id
    refresh_idle_expiry(session)  # as the middleware will: its save then finds this done
    try:
        session.save()
    except UpdateError as error:
        if error.__cause__ is not None:
            raise error.__cause__ from None  # a database error: the transaction must fail
        # Otherwise the session row is gone: SessionMiddleware reports it, as before.


def _unmark(session: SessionBase, saved_before: object) -> None:
    if session.get(SAVED_KEY) == saved_before:
        return
    if saved_before is None:
        del session[SAVED_KEY]
    else:
        session[SAVED_KEY] = saved_before


@never_cache
@require_GET
def client_saved(request: HttpRequest) -> HttpResponse:
    link_id = request.session.get(SAVED_KEY)
    link = ClientLink.objects.select_related("session__dyad__clinic").filter(pk=link_id).first()
    if link is None or link.used_at is None:
        return _problem(request, "unknown", 404)
    return render(request, "rri_forms/client/saved.html", {"link": link})
