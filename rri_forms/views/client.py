"""The client's phone flow: link → start page → one form page → saved.

No account: the token in the link is exchanged for a mark in the browser's session and
the browser continues on token-free URLs. The form also carries a signed reference to
the link, so a session that expired while the client was answering does not lose the
answers. Every page here is private and never cached.

Answers are kept as the client goes: the page's script saves a draft into the browser's
server-side session (and into localStorage), and without JavaScript a "save for later"
button does the same. A draft lives until the link expires and is discarded in the same
transaction that saves the forms; reopening the form (reload, Back, the link again)
restores it. A browser answering a link that a newer one replaced carries on with the
newer link (ClientLink.superseded_by), draft and all.
"""

from __future__ import annotations

import datetime
import functools
import re
import secrets
import uuid

import pghistory
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from dyad.lib import ratelimit
from dyad.lib.session_security import refresh_idle_expiry
from rri_forms.form_input import ParsedAnswers, parse_answers
from rri_forms.models import ClientLink, Instrument
from rri_forms.rendering import field_name, render_items
from rri_forms.selectors import (
    form_settings_for,
    link_for_form,
    link_instruments,
    with_instrument_versions,
)
from rri_forms.services.client_forms import Outcome, SubmitResult, client_forms_submit
from rri_forms.services.links import link_for_token

SESSION_KEY = "client_link"
SAVED_KEY = "client_saved_link"
DRAFT_KEY = "client_draft"  # {"link": link id, "answers": {field name: value}}
RISK_KEY = "client_saved_risk"  # the saved forms held a risk answer: show the crisis message
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
        return _follow(request, link_for_form(link_id))
    # With its instruments' row versions, so link_instruments can use its cache.
    links = with_instrument_versions(ClientLink.objects.all()).select_related(
        "session__dyad__clinic", "session__dyad__therapist", "session__dyad__client"
    )
    link = _follow(request, links.filter(pk=link_id).first())
    if link is not None and link.pk != link_id:
        link = links.filter(pk=link.pk).first()
    return link


def _follow(request: HttpRequest, link: ClientLink | None) -> ClientLink | None:
    """The link that replaced `link` while this browser was answering it, if any: the
    browser, and its draft, move on to it (link_issue keeps the chain one step long)."""
    if link is None or link.revoked_at is None or link.superseded_by_id is None:
        return link
    newer = link_for_form(link.superseded_by_id)
    if newer is None:
        return link
    session = request.session
    session[SESSION_KEY] = newer.pk
    draft = session.get(DRAFT_KEY)
    if isinstance(draft, dict) and draft.get("link") == link.pk:
        session[DRAFT_KEY] = {**draft, "link": newer.pk}
    return newer


def _draft_answers(request: HttpRequest, link: ClientLink) -> dict[str, object] | None:
    draft = request.session.get(DRAFT_KEY)
    if not isinstance(draft, dict) or draft.get("link") != link.pk:
        return None
    answers = draft.get("answers")
    return answers if isinstance(answers, dict) else None


def _restored(instruments: list[Instrument], answers: dict[str, object]) -> ParsedAnswers:
    """A draft's answers, checked against the instruments as a POST's would be; nothing is
    marked missing (the client has not pressed Send)."""
    parsed = parse_answers(instruments, {name: str(value) for name, value in answers.items()})
    return ParsedAnswers(answers=parsed.answers, missing={})


def draft_key(link_id: int) -> str:
    """The name of this link's draft in the browser's localStorage: stable, not the id."""
    return salted_hmac("rri_forms.client-draft", str(link_id)).hexdigest()[:24]


def _unusable(request: HttpRequest, link: ClientLink | None) -> HttpResponse | None:
    if link is None:
        return _problem(request, "unknown", 404)
    state = link.state
    if state == ClientLink.State.LIVE:
        return None
    if state == ClientLink.State.USED and request.session.get(SAVED_KEY) == link.pk:
        return redirect("client_saved")
    if state == ClientLink.State.REVOKED and link.superseded_by_id is not None:
        return _problem(request, "replaced", 410)
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
    if link is not None and request.session.get(SESSION_KEY) in (link.pk, link.superseded_by_id):
        # This browser was answering this link already (its draft is in the session):
        # carry on, with the newer link if one replaced it.
        link = _follow(request, link)
    problem = _unusable(request, link)
    if problem is not None:
        return problem
    if request.session.get(SESSION_KEY) != link.pk:
        request.session.pop(DRAFT_KEY, None)  # another link's draft (a shared phone)
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
    instruments, parsed, submission_id, link_ref, save_failed, draft=None, notice=""
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
                "title": part_title(instrument),
                "risk_fields": " ".join(
                    field_name(instrument, n) for n in instrument.spec.risk_items
                ),
                "risk_threshold": instrument.spec.risk_threshold,
                "items_html": render_items(instrument, answers, missing),
            }
        )
        if missing:
            missing_names.append(
                {
                    "title": part_title(instrument),
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
        "draft_key": draft[0] if draft else "",
        "draft_expires": draft[1] if draft else "",
        "notice": notice,
    }


def part_title(instrument: Instrument) -> str:
    """What the client reads as a part's name: the instrument's title without its code
    ("Patient Health Questionnaire", not "PHQ-9": codes mean nothing to a client)."""
    spec = instrument.spec
    title = _CODE_IN_TITLE.sub("", spec.title).strip() if spec.title else ""
    return title or spec.short_title


_CODE_IN_TITLE = re.compile(r"\s*\([^()]*\)\s*$")  # "… (PHQ-9)"


def _draft_marks(link_id: int, expires_at: datetime.datetime | None) -> tuple[str, str]:
    """The localStorage name of the link's draft and when it expires (ms; "" if unknown)."""
    expires = str(int(expires_at.timestamp() * 1000)) if expires_at is not None else ""
    return draft_key(link_id), expires


def _form_page(  # type: ignore[no-untyped-def]
    request,
    link_id,
    instruments,
    parsed=None,
    submission_id=None,
    status=200,
    save_failed=False,
    notice="",
    expires_at=None,
):
    context = _form_context(
        instruments,
        parsed,
        submission_id or uuid.uuid4(),
        signing.dumps(link_id, salt=_SIGN_SALT),
        save_failed,
        draft=_draft_marks(link_id, expires_at),
        notice=notice,
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
_DRAFT_KEY_MARK = secrets.token_hex(12)
_DRAFT_EXPIRES_MARK = secrets.token_hex(16)
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
        context = _form_context(
            instruments,
            None,
            _SUBMISSION_MARK,
            _LINK_REF_MARK,
            False,
            draft=(_DRAFT_KEY_MARK, _DRAFT_EXPIRES_MARK),
        )
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
    key, expires = _draft_marks(link.pk, link.expires_at)
    page = page.replace(_DRAFT_KEY_MARK, key).replace(_DRAFT_EXPIRES_MARK, expires)
    return HttpResponse(page)


@never_cache
@require_http_methods(["GET", "POST"])
def client_form(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("intent") == "draft":
            return _save_draft(request)
        return _submit(request)
    link = _link_from_request(request)
    problem = _unusable(request, link)
    if problem is not None:
        return problem
    instruments = link_instruments(link)
    answers = _draft_answers(request, link)
    if answers:
        notice = _("Welcome back: your answers so far are kept. Carry on where you left off.")
        restored = _restored(instruments, answers)
        return _form_page(
            request, link.pk, instruments, restored, notice=notice, expires_at=link.expires_at
        )
    return _unanswered_form_page(request, link, instruments)


def _save_draft(request: HttpRequest) -> HttpResponse:
    """Keep the answers given so far in this browser's session, until the link expires.

    The page's script sends this as the client goes (`background=1`: an empty 204); the
    "save for later" button sends it without JavaScript and gets the form back."""
    background = request.POST.get("background") == "1"
    link_id = _link_id(request)
    link = _follow(request, link_for_form(link_id)) if link_id is not None else None
    if link is None or not link.is_live:
        if background:
            return HttpResponse(status=410)
        problem = _unusable(request, link)
        return problem if problem is not None else redirect("client_form")
    refusal = ratelimit.first_refusal(ratelimit.hit("client_draft_link", link.pk))
    if refusal is not None:
        if background:
            return HttpResponse(status=429)
        return ratelimit.ratelimited(request, refusal, lean=True)
    instruments = link_instruments(link)
    parsed = parse_answers(instruments, request.POST)
    answers = {
        field_name(instrument, number): value
        for instrument in instruments
        for number, value in parsed.answers.get(instrument.pk, {}).items()
    }
    session = request.session
    session[SESSION_KEY] = link.pk
    session[DRAFT_KEY] = {"link": link.pk, "answers": answers}
    session.set_expiry(link.expires_at)  # the draft outlives the idle timeout, not the link
    if background:
        return HttpResponse(status=204)
    try:
        submission_id = uuid.UUID(request.POST.get("submission_id", ""))
    except ValueError:
        submission_id = None
    notice = _(
        "Your answers so far are kept until %(expires)s. You can close this page and open "
        "your link again later to finish."
    ) % {"expires": timezone.localtime(link.expires_at).strftime("%Y-%m-%d %H:%M")}
    restored = ParsedAnswers(answers=parsed.answers, missing={})
    return _form_page(
        request,
        link.pk,
        instruments,
        restored,
        submission_id,
        notice=notice,
        expires_at=link.expires_at,
    )


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
                also_write=functools.partial(_mark_saved, session, parsed_with),
            )
    except (OperationalError, InterfaceError):
        if not parsed_with:
            raise  # nothing read yet: the generic 503 (dyad/lib/errors.py)
        _unmark(session, saved_before)
        return _save_failed(request, link_id, parsed_with[-1], submission_id)
    if result.outcome == Outcome.SAVED:
        if result.also_written:
            session.written()  # type: ignore[attr-defined] - dyad.lib.session_store
        return redirect("client_saved")
    _unmark(session, saved_before)  # a mark set before a rollback (failed commit) goes too
    return _not_saved(request, result, parsed_with, submission_id)


def _save_failed(
    request: HttpRequest,
    link_id: int,
    parsed_with: tuple[list[Instrument], ParsedAnswers],
    submission_id: uuid.UUID,
) -> HttpResponse:
    """The database failed mid-save: the transaction kept nothing. Give the answers back,
    checked, so the client only has to press Send again (same submission id)."""
    instruments, parsed = parsed_with
    response = _form_page(
        request, link_id, instruments, parsed, submission_id, status=503, save_failed=True
    )
    response["Retry-After"] = "30"
    return response


def _not_saved(
    request: HttpRequest,
    result: SubmitResult,
    parsed_with: list[tuple[list[Instrument], ParsedAnswers]],
    submission_id: uuid.UUID,
) -> HttpResponse:
    outcome = result.outcome
    if outcome == Outcome.REPLAYED:
        request.session[SAVED_KEY] = result.link.pk
        request.session.pop(DRAFT_KEY, None)
        return redirect("client_saved")
    if outcome == Outcome.RATELIMITED:
        return ratelimit.ratelimited(request, result.refusal, lean=True)
    if outcome == Outcome.UNKNOWN:
        return _problem(request, "unknown", 404)
    if outcome == Outcome.INCOMPLETE:
        instruments, parsed = parsed_with[-1]
        link = result.link
        return _form_page(
            request, link.pk, instruments, parsed, submission_id, expires_at=link.expires_at
        )
    if outcome == Outcome.CONFLICT:
        return _problem(request, "conflict", 409)
    return _problem(request, outcome.value, 410)


def _mark_saved(
    session: SessionBase,
    parsed_with: list[tuple[list[Instrument], ParsedAnswers]],
    link_id: int,
) -> tuple[str, list[object]] | None:
    """Inside the submit's transaction: the "saved" mark commits with the forms (one
    commit, and no window in which the forms are stored but the browser not told), and
    the draft is discarded with them. Returns the session's UPDATE, which the service
    sends in the forms' statement; a session without a row yet is created here."""
    session[SAVED_KEY] = link_id
    session.pop(DRAFT_KEY, None)
    instruments, parsed = parsed_with[-1]
    if has_risk_answer(instruments, parsed):
        session[RISK_KEY] = link_id
    else:
        session.pop(RISK_KEY, None)
    refresh_idle_expiry(session)  # as the middleware will: its save then finds this done
    if session.session_key is not None and hasattr(session, "update_statement"):
        sql, params, _ = session.update_statement()
        return sql, params
    session.save()  # a new row (the session had expired): Django's create path
    return None


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
    crisis = None
    if request.session.get(RISK_KEY) == link.pk:
        crisis = form_settings_for(link.session.dyad.clinic).crisis_text
    return render(request, "rri_forms/client/saved.html", {"link": link, "crisis": crisis})


def has_risk_answer(instruments: list[Instrument], parsed: ParsedAnswers) -> bool:
    """Whether a risk item (PHQ-9 item 9) was answered above its instrument's threshold."""
    for instrument in instruments:
        answers = parsed.answers.get(instrument.pk, {})
        threshold = instrument.spec.risk_threshold
        if any(answers.get(item, threshold) > threshold for item in instrument.spec.risk_items):
            return True
    return False
