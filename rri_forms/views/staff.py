"""The therapist's side: the session page (QR code, link), logging a session, own forms."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from clinic import access, selectors, services
from clinic.audit import log_access
from clinic.forms import SessionForm
from clinic.models import AccessLog
from clinic.views import apply_errors, keep_typed
from dyad.lib import ratelimit
from dyad.lib.errors import DATABASE_DOWN, SAVE_FAILED, save_failed
from rri_forms import fresh_link
from rri_forms.form_input import parse_answers
from rri_forms.models import Instrument
from rri_forms.rendering import render_items
from rri_forms.selectors import form_settings_for, session_emails, session_forms
from rri_forms.services.links import link_email, link_issue, link_revoke
from rri_forms.services.therapist_forms import (
    can_fill_therapist_forms,
    correction_deadline,
    therapist_forms_save,
)


def _link_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("client_link", args=[token]))


@login_required
@require_http_methods(["GET", "POST"])
def session_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a session and, in the same step, issue the client's link for it."""
    dyad = access.get_dyad_for_write(request.user, pk)
    form = SessionForm(
        request.POST or None,
        initial={"number": selectors.next_session_number(dyad), "date": dyad.clinic.today()},
    )
    lost: Exception | None = None
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                session = services.session_log(
                    actor_user=request.user, dyad=dyad, **form.cleaned_data
                )
                token = None
                if session.attended:
                    _link, token = link_issue(actor_user=request.user, session=session)
        except ValidationError as error:
            apply_errors(form, error)
        except DATABASE_DOWN as exc:
            lost = keep_typed(form, exc)
        else:
            messages.success(request, _("Session %(n)d logged.") % {"n": session.number})
            response = redirect("session_detail", pk=session.pk)
            if token:
                fresh_link.remember(response, request, session.pk, token)
            return response
    if lost is None:  # a lost database cannot log either: the typed values come back
        log_access(request, AccessLog.Action.VIEW_DYAD, client=dyad.client, obj=dyad)
    response = render(request, "clinic/session_new.html", {"form": form, "dyad": dyad})
    return save_failed(request, lost, response)


@login_required
@require_safe
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.get_session_for_user(request.user, pk)
    log_access(request, AccessLog.Action.VIEW_SESSION, client=session.dyad.client, obj=session)
    forms = session_forms(session)
    token = fresh_link.read(request, session.pk, forms.link)
    link_url = qr_svg = None
    if token:
        link_url = _link_url(request, token)
        # segno's SVG has no scripts or style attributes, so it is safe inline under our CSP.
        qr_svg = mark_safe(segno.make(link_url, error="m").svg_inline(scale=5))  # noqa: S308
    can_write = access.can_write_dyad(request.user, session.dyad)
    days = form_settings_for(session.dyad.clinic).correction_days
    now = timezone.now()
    therapist_done = forms.administrations["therapist"]
    response = render(
        request,
        "rri_forms/session_detail.html",
        {
            "session": session,
            "dyad": session.dyad,
            "forms": forms,
            "link_url": link_url,
            "qr_svg": qr_svg,
            "can_write": can_write,
            "can_fill": can_fill_therapist_forms(request.user, session) and session.attended,
            "can_correct": bool(therapist_done)
            and all(now <= correction_deadline(a, days) for a in therapist_done),
            "client_email": session.dyad.client.email,
            "emails": session_emails(session),
        },
    )
    fresh_link.forget(request, response, session.pk)
    return response  # never cached (dyad.lib.caching): a reload shows no link


def _therapist_instruments(session) -> tuple[list[Instrument], dict]:  # type: ignore[no-untyped-def]
    """Instruments for the therapist's page: completed ones in the version answered."""
    forms = session_forms(session)
    done = forms.administrations["therapist"]
    existing = {a.instrument.pk: dict(a.answers.values_list("item_number", "value")) for a in done}
    return [a.instrument for a in done] + forms.pending["therapist"], existing


@login_required
@require_http_methods(["GET", "POST"])
def therapist_forms(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.get_session_for_user(request.user, pk)
    if not can_fill_therapist_forms(request.user, session):
        raise PermissionDenied("Only the dyad's therapist fills in these forms")
    instruments, existing = _therapist_instruments(session)
    parsed = None
    error = None
    lost: Exception | None = None
    if request.method == "POST":
        parsed = parse_answers(instruments, request.POST)
        if parsed.complete:
            try:
                therapist_forms_save(
                    actor_user=request.user,
                    session=session,
                    instruments=instruments,
                    answers=parsed.answers,
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
            except DATABASE_DOWN as exc:
                lost, error = exc, SAVE_FAILED
            else:
                messages.success(request, _("Your forms are saved."))
                return redirect("session_detail", pk=session.pk)
    sections = [
        {
            "instrument": i,
            "spec": i.spec,
            "items_html": render_items(
                i,
                parsed.answers.get(i.pk, {}) if parsed else existing.get(i.pk, {}),
                parsed.missing.get(i.pk, []) if parsed else [],
            ),
        }
        for i in instruments
    ]
    if lost is None:  # the page shows the client and, in a correction, the answers given
        log_access(request, AccessLog.Action.VIEW_SESSION, client=session.dyad.client, obj=session)
    response = render(
        request,
        "rri_forms/therapist_forms.html",
        {
            "session": session,
            "dyad": session.dyad,
            "sections": sections,
            "missing_count": parsed.missing_count if parsed else 0,
            "error": error,
            "correcting": bool(existing),
        },
    )
    return save_failed(request, lost, response)


@login_required
@require_POST
def link_new(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.get_session_for_write(request.user, pk)
    try:
        _link, token = link_issue(actor_user=request.user, session=session)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("A new link is ready; earlier links no longer work."))
        response = redirect("session_detail", pk=session.pk)
        fresh_link.remember(response, request, session.pk, token)
        return response
    return redirect("session_detail", pk=session.pk)


@login_required
@require_POST
def link_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.get_session_for_write(request.user, pk)
    if link_revoke(actor_user=request.user, session=session):
        messages.success(request, _("The client's link has been revoked."))
    else:
        messages.info(request, _("There was no active link to revoke."))
    return redirect("session_detail", pk=session.pk)


@login_required
@require_POST
def link_send(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.get_session_for_write(request.user, pk)
    refusal = ratelimit.first_refusal(
        ratelimit.hit("link_email_staff", access.require_staff(request.user).pk),
        ratelimit.hit("link_email_client", session.dyad.client_id),
    )
    if refusal is not None:
        back = reverse("session_detail", args=[session.pk])
        return ratelimit.ratelimited(request, refusal, lean=False, back_url=back)
    try:
        _email, token = link_email(
            actor_user=request.user,
            session=session,
            origin=request.build_absolute_uri("/").rstrip("/"),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("session_detail", pk=session.pk)
    messages.success(request, _("A new link is on its way to the client by email."))
    response = redirect("session_detail", pk=session.pk)
    fresh_link.remember(response, request, session.pk, token)
    return response
