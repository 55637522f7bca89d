"""The audit trail page (clinic admins only): reads from the access log, writes from the
append-only history tables and admins' actions on colleagues' sign-ins (StaffSecurityEvent),
one timeline, filtered and paginated.

Every event is scoped to the admin's clinic through its dyad or client. A row whose
client was erased is still found through the history of its dyad, session or form
(clinic/history.py `live_or_recorded`), and is shown as "erased #id".
"""

from __future__ import annotations

import datetime
import zoneinfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET

from clinic import access
from clinic.audit import log_access
from clinic.forms import DateInput
from clinic.history import HISTORY_SOURCES, DyadEvent
from clinic.models import AccessLog, Client, Clinic, Dyad, StaffMember, StaffSecurityEvent

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    client = forms.CharField(label=gettext_lazy("Client code"), max_length=32, required=False)
    staff = forms.ModelChoiceField(
        label=gettext_lazy("Staff member"), queryset=StaffMember.objects.none(), required=False
    )
    date_from = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=DateInput())
    kind = forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=[
            ("", gettext_lazy("Reads and changes")),
            ("read", gettext_lazy("Reads only")),
            ("write", gettext_lazy("Changes only")),
            ("security", gettext_lazy("Staff sign-in changes only")),
        ],
    )

    def __init__(self, *args, clinic: Clinic, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["staff"].queryset = StaffMember.objects.filter(clinic=clinic).order_by(
            "display_name"
        )
        for name, field in self.fields.items():
            css = "form-select" if name in ("staff", "kind") else "form-control"
            field.widget.attrs["class"] = f"{css} form-control-sm" if css == "form-control" else css

    def clean_client(self) -> Client | None:
        code = self.cleaned_data["client"].strip()
        if not code:
            return None
        client = Client.objects.filter(clinic=self.clinic, code__iexact=code).first()
        if client is None:
            raise forms.ValidationError(
                _("No client of this clinic has the code %(code)s.") % {"code": code}
            )
        return client

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


def _bounds(clinic: Clinic, start, end):  # type: ignore[no-untyped-def]
    """The clinic's local days [start, end] as aware datetimes (None: open)."""
    zone = zoneinfo.ZoneInfo(clinic.time_zone)
    low = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone) if start else None
    high = None
    if end and end < datetime.date.max:
        next_day = end + datetime.timedelta(days=1)
        high = datetime.datetime.combine(next_day, datetime.time.min, tzinfo=zone)
    return low, high


def _timeline_sql(clinic_id: int) -> tuple[str, list[object]]:
    """One UNION ALL over the access log, every registered history table and the staff
    security events, with the columns: kind, source, at, action, object_type, object_id,
    staff_ref, link_ref, path, client_id, client_ids, seq (a security event puts its detail in
    object_type and the colleague acted on in object_id). Only names from models and
    constants are interpolated."""
    dyad_table = Dyad._meta.db_table
    dyad_events = DyadEvent._meta.db_table
    sql_parts = [
        # The clinic's dyads, live or (once erased) as last recorded.
        f"""WITH dyads AS (
            SELECT DISTINCT ON ("id") "id", "client_id" FROM (
                SELECT "id", "client_id", "clinic_id", 0 AS pref FROM "{dyad_table}"
                UNION ALL
                SELECT "pgh_obj_id", "client_id", "clinic_id", 1 FROM "{dyad_events}"
            ) AS known WHERE "clinic_id" = %s ORDER BY "id", pref
        ), timeline AS ("""  # noqa: S608
    ]
    params: list[object] = [clinic_id]
    selects = []
    for index, source in enumerate(HISTORY_SOURCES):
        table = source.event_model._meta.db_table
        columns = f"""'write' AS kind, {index} AS source, e."pgh_created_at" AS at,
            e."pgh_label" AS action, '' AS object_type, e."pgh_obj_id" AS object_id,
            e."pgh_context" ->> 'staff' AS staff_ref,
            e."pgh_context" ->> 'client_link' AS link_ref,
            e."pgh_context" ->> 'url' AS path"""
        if source.dyad_sql is not None:
            selects.append(
                f"""SELECT {columns}, d."client_id" AS client_id,
                NULL::bigint[] AS client_ids, e."pgh_id" AS seq
                FROM "{table}" e JOIN dyads d ON d."id" = {source.dyad_sql}"""  # noqa: S608
            )
        else:
            selects.append(
                f"""SELECT {columns}, {source.client_sql} AS client_id,
                NULL::bigint[] AS client_ids, e."pgh_id" AS seq
                FROM "{table}" e WHERE {source.clinic_sql} = %s"""  # noqa: S608
            )
            params.append(clinic_id)
    log_table = AccessLog._meta.db_table
    selects.append(
        f"""SELECT 'read' AS kind, -1 AS source, a."at", a."action", a."object_type",
            a."object_id", a."staff_id"::text, NULL, a."path", a."client_id", a."client_ids",
            a."id"
        FROM "{log_table}" a WHERE a."clinic_id" = %s"""  # noqa: S608
    )
    params.append(clinic_id)
    security_table = StaffSecurityEvent._meta.db_table
    selects.append(
        f"""SELECT 'security' AS kind, -2 AS source, s."at", s."action", s."detail",
            s."target_id", s."actor_id"::text, NULL, '', NULL::bigint, NULL::bigint[], s."id"
        FROM "{security_table}" s WHERE s."clinic_id" = %s"""  # noqa: S608
    )
    params.append(clinic_id)
    sql_parts.append("\nUNION ALL\n".join(selects))
    sql_parts.append(") SELECT * FROM timeline")
    return "\n".join(sql_parts), params


class Timeline:
    """A lazily counted and sliced query, for Django's Paginator."""

    def __init__(self, clinic_id: int, filters: dict[str, object]):
        base, self.params = _timeline_sql(clinic_id)
        conditions = []
        if filters.get("client") is not None:
            # A list page that showed the client counts as a read of them too.
            conditions.append("(client_id = %s OR client_ids @> ARRAY[%s]::bigint[])")
            self.params.extend([filters["client"].pk, filters["client"].pk])
        if filters.get("staff") is not None:
            # What they did, and what was done to their sign-in.
            conditions.append("(staff_ref = %s OR (kind = 'security' AND object_id = %s))")
            self.params.extend([str(filters["staff"].pk), filters["staff"].pk])
        low, high = filters.get("low"), filters.get("high")
        if low is not None:
            conditions.append("at >= %s")
            self.params.append(low)
        if high is not None:
            conditions.append("at < %s")
            self.params.append(high)
        if filters.get("kind"):
            conditions.append("kind = %s")
            self.params.append(filters["kind"])
        self.sql = base + (" WHERE " + " AND ".join(conditions) if conditions else "")

    def count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({self.sql}) AS counted", self.params)  # noqa: S608
            return cursor.fetchone()[0]

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[dict[str, object]]:
        offset = window.start or 0
        limit = (window.stop or offset + PAGE_SIZE) - offset
        with connection.cursor() as cursor:
            cursor.execute(
                f"{self.sql} ORDER BY at DESC, kind, seq DESC LIMIT %s OFFSET %s",
                [*self.params, limit, offset],
            )
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_WRITE_ACTIONS = {
    "insert": gettext_lazy("created"),
    "update": gettext_lazy("changed"),
    "delete": gettext_lazy("deleted"),
}


def _describe(rows: list[dict[str, object]], clinic: Clinic) -> list[dict[str, object]]:
    """Add what a reader needs: actor, object and client, with no clinical content."""
    staff = {
        str(pk): name
        for pk, name in StaffMember.objects.filter(clinic=clinic).values_list("pk", "display_name")
    }
    client_ids = {row["client_id"] for row in rows if row["client_id"] is not None}
    codes = dict(Client.objects.filter(clinic=clinic, pk__in=client_ids).values_list("pk", "code"))
    read_actions = dict(AccessLog.Action.choices)
    security_actions = dict(StaffSecurityEvent.Action.choices)
    for row in rows:
        if row["kind"] == "security":
            detail = row["object_type"]
            row["what"] = security_actions.get(row["action"], row["action"])
            if detail:
                row["what"] = f"{row['what']} ({detail})"
            row["object"] = _("staff member %(name)s") % {
                "name": staff.get(str(row["object_id"]), f"#{row['object_id']}")
            }
        elif row["kind"] == "read":
            row["what"] = read_actions.get(row["action"], row["action"])
            row["object"] = f"{row['object_type']} #{row['object_id']}" if row["object_id"] else ""
            shown = len(row["client_ids"] or ())
            if row["client_id"] is None and shown:
                row["object"] = ngettext("%(n)s client", "%(n)s clients", shown) % {"n": shown}
        else:
            source = HISTORY_SOURCES[row["source"]]
            row["what"] = f"{str(source.label).capitalize()} {_WRITE_ACTIONS[row['action']]}"
            row["object"] = f"{source.label} #{row['object_id']}"
        if row["staff_ref"]:
            row["actor"] = staff.get(
                row["staff_ref"], _("staff #%(id)s") % {"id": row["staff_ref"]}
            )
        elif row["link_ref"]:
            row["actor"] = _("Client (link #%(id)s)") % {"id": row["link_ref"]}
        else:
            row["actor"] = _("System")
        client_id = row["client_id"]
        row["client_code"] = codes.get(client_id, "")
        row["client_erased"] = client_id is not None and client_id not in codes
    return rows


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    member = access.require_staff(request.user)
    if not member.is_admin:
        raise PermissionDenied("Clinic admins only")
    form = AuditFilterForm(request.GET or None, clinic=member.clinic)
    page = None
    data: dict[str, object] = {}
    if form.is_bound and not form.is_valid():
        # A bad filter shows nothing rather than silently showing everything.
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else None
            text = " ".join(errors)
            messages.error(request, f"{label}: {text}" if label else text)
    else:
        data = form.cleaned_data if form.is_bound else {}
        low, high = _bounds(member.clinic, data.get("date_from"), data.get("date_to"))
        timeline = Timeline(member.clinic_id, {**data, "low": low, "high": high})
        page = Paginator(timeline, PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = _describe(list(page.object_list), member.clinic)
        log_access(
            request,
            AccessLog.Action.VIEW_DASHBOARD,
            clients=[row["client_id"] for row in page.object_list if row["client_code"]]
            + ([data["client"].pk] if data.get("client") else []),
            detail="audit trail",
        )
    return render(
        request, "clinic/audit.html", {"form": form, "page": page, "client": data.get("client")}
    )
