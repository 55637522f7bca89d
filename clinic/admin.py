from django.contrib import admin

from clinic.models import Client, Clinic, Dyad, StaffMember, Supervision, TherapySession


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "clinic", "role"]
    list_filter = ["clinic", "role"]
    search_fields = ["display_name", "user__username", "user__email"]
    autocomplete_fields = ["user"]


@admin.register(Supervision)
class SupervisionAdmin(admin.ModelAdmin):
    list_display = ["supervisor", "therapist", "created_at"]
    list_filter = ["supervisor__clinic"]
    search_fields = ["supervisor__display_name", "therapist__display_name"]


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["code", "clinic", "display_name", "created_at"]
    list_filter = ["clinic"]
    search_fields = ["code", "display_name"]


class TherapySessionInline(admin.TabularInline):
    model = TherapySession
    extra = 0
    fields = ["number", "date", "attendance"]


@admin.register(Dyad)
class DyadAdmin(admin.ModelAdmin):
    list_display = ["client", "therapist", "clinic", "status", "started_on", "ended_on"]
    list_filter = ["clinic", "status", "therapist"]
    search_fields = ["client__code", "therapist__display_name"]
    raw_id_fields = ["client", "therapist"]
    inlines = [TherapySessionInline]


@admin.register(TherapySession)
class TherapySessionAdmin(admin.ModelAdmin):
    list_display = ["dyad", "number", "date", "attendance"]
    list_filter = ["attendance", "dyad__clinic"]
    search_fields = ["dyad__client__code"]
    date_hierarchy = "date"
    raw_id_fields = ["dyad", "created_by"]
