"""clinic 0001-0006 squashed (`manage.py squashmigrations clinic 0006`): a new database runs this
one migration; a database with some of 0001-0006 applied goes on with those files, which are
kept. Split from 0007-0015 because a migration creates its foreign keys at its end: in one
squash, 0007's drop of the access log's client foreign key would run before 0002 created it.
"""

import django.core.validators
import django.db.models.deletion
import pghistory.utils
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

import clinic.models.tenancy


class Migration(migrations.Migration):
    replaces = [
        ("clinic", "0001_initial"),
        ("clinic", "0002_access_log"),
        ("clinic", "0003_client_retention_hold_and_rate_limit_buckets"),
        ("clinic", "0004_append_only_history_of_clients_dyads_sessions"),
        ("clinic", "0005_access_log_dashboard_views"),
        ("clinic", "0006_clinic_2fa_setting_and_staff_history"),
    ]

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Clinic",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=200, verbose_name="name")),
                ("slug", models.SlugField(unique=True, verbose_name="short name")),
                (
                    "time_zone",
                    models.CharField(
                        default="UTC",
                        help_text="Decides what 'today' means for session dates.",
                        max_length=64,
                        validators=[clinic.models.tenancy.validate_timezone],
                        verbose_name="time zone",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name": "clinic",
                "verbose_name_plural": "clinics",
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="Client",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        help_text="A pseudonymous code such as C-0142. Do not use the client's name.",
                        max_length=32,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Za-z0-9][A-Za-z0-9-]{0,31}$",
                                "Use letters, digits and hyphens only (for example C-0142), at most 32 characters.",
                            )
                        ],
                        verbose_name="client code",
                    ),
                ),
                (
                    "display_name",
                    models.CharField(
                        blank=True,
                        help_text="Optional. Shown to the client on their form's start page.",
                        max_length=60,
                        verbose_name="first name",
                    ),
                ),
                (
                    "email",
                    models.EmailField(
                        blank=True,
                        help_text="Optional. Used only to send form links.",
                        max_length=254,
                        verbose_name="email",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "clinic",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="clients",
                        to="clinic.clinic",
                    ),
                ),
            ],
            options={
                "verbose_name": "client",
                "verbose_name_plural": "clients",
                "ordering": ["code"],
            },
        ),
        migrations.CreateModel(
            name="StaffMember",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("therapist", "Therapist"),
                            ("supervisor", "Supervisor"),
                            ("admin", "Clinic admin"),
                        ],
                        max_length=16,
                        verbose_name="role",
                    ),
                ),
                ("display_name", models.CharField(max_length=150, verbose_name="display name")),
                (
                    "clinic",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="staff",
                        to="clinic.clinic",
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="staff",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "staff member",
                "verbose_name_plural": "staff members",
                "ordering": ["display_name"],
            },
        ),
        migrations.CreateModel(
            name="Dyad",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_on", models.DateField(verbose_name="started on")),
                ("ended_on", models.DateField(blank=True, null=True, verbose_name="ended on")),
                (
                    "status",
                    models.CharField(
                        choices=[("active", "Active"), ("ended", "Ended")],
                        default="active",
                        max_length=8,
                        verbose_name="status",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="dyads",
                        to="clinic.client",
                    ),
                ),
                (
                    "clinic",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="dyads",
                        to="clinic.clinic",
                    ),
                ),
                (
                    "therapist",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="dyads",
                        to="clinic.staffmember",
                    ),
                ),
            ],
            options={
                "verbose_name": "dyad",
                "verbose_name_plural": "dyads",
                "ordering": ["-started_on", "pk"],
            },
        ),
        migrations.CreateModel(
            name="Supervision",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "supervisor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="supervisions",
                        to="clinic.staffmember",
                    ),
                ),
                (
                    "therapist",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="supervised_by",
                        to="clinic.staffmember",
                    ),
                ),
            ],
            options={
                "verbose_name": "supervision",
                "verbose_name_plural": "supervisions",
            },
        ),
        migrations.CreateModel(
            name="TherapySession",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveSmallIntegerField(verbose_name="session number")),
                ("date", models.DateField(verbose_name="date")),
                (
                    "attendance",
                    models.CharField(
                        choices=[("attended", "Attended"), ("no_show", "No-show")],
                        default="attended",
                        max_length=8,
                        verbose_name="attendance",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="clinic.staffmember",
                    ),
                ),
                (
                    "dyad",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sessions",
                        to="clinic.dyad",
                    ),
                ),
            ],
            options={
                "verbose_name": "therapy session",
                "verbose_name_plural": "therapy sessions",
                "ordering": ["dyad", "number"],
            },
        ),
        migrations.AddConstraint(
            model_name="client",
            constraint=models.UniqueConstraint(
                fields=("clinic", "code"),
                name="client_code_unique_per_clinic",
                violation_error_message="This clinic already has a client with this code.",
            ),
        ),
        migrations.AddConstraint(
            model_name="staffmember",
            constraint=models.CheckConstraint(
                condition=models.Q(("role__in", ["therapist", "supervisor", "admin"])),
                name="staff_role_valid",
            ),
        ),
        migrations.AddIndex(
            model_name="dyad",
            index=models.Index(fields=["therapist", "status"], name="dyad_therapist_status"),
        ),
        migrations.AddConstraint(
            model_name="dyad",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("ended_on__isnull", True),
                    ("ended_on__gte", models.F("started_on")),
                    _connector="OR",
                ),
                name="dyad_ends_after_start",
                violation_error_message="A dyad cannot end before it started.",
            ),
        ),
        migrations.AddConstraint(
            model_name="dyad",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "active"), ("ended_on__isnull", True)),
                    models.Q(("status", "ended"), ("ended_on__isnull", False)),
                    _connector="OR",
                ),
                name="dyad_status_matches_end",
                violation_error_message="An ended dyad needs an end date, an active one none.",
            ),
        ),
        migrations.AddConstraint(
            model_name="dyad",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "active")),
                fields=("client",),
                name="dyad_one_active_per_client",
                violation_error_message="This client already has an active dyad; end it before opening another.",
            ),
        ),
        migrations.AddConstraint(
            model_name="supervision",
            constraint=models.UniqueConstraint(
                fields=("supervisor", "therapist"), name="supervision_unique_pair"
            ),
        ),
        migrations.AddConstraint(
            model_name="supervision",
            constraint=models.CheckConstraint(
                condition=models.Q(("supervisor", models.F("therapist")), _negated=True),
                name="supervision_not_self",
            ),
        ),
        migrations.AddConstraint(
            model_name="therapysession",
            constraint=models.UniqueConstraint(
                fields=("dyad", "number"),
                name="session_number_unique_per_dyad",
                violation_error_message="This dyad already has a session with this number.",
            ),
        ),
        migrations.AddConstraint(
            model_name="therapysession",
            constraint=models.CheckConstraint(
                condition=models.Q(("number__gte", 1)),
                name="session_number_positive",
                violation_error_message="Session numbers start at 1.",
            ),
        ),
        migrations.CreateModel(
            name="AccessLog",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("view_dyad", "Viewed a dyad"),
                            ("view_session", "Viewed a session"),
                            ("export", "Exported data"),
                            ("privacy", "Privacy request"),
                        ],
                        max_length=20,
                    ),
                ),
                ("object_type", models.CharField(blank=True, max_length=40)),
                ("object_id", models.BigIntegerField(blank=True, null=True)),
                ("detail", models.CharField(blank=True, max_length=300)),
                ("path", models.CharField(max_length=300)),
                ("at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "client",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="clinic.client",
                    ),
                ),
                (
                    "clinic",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="clinic.clinic",
                    ),
                ),
                (
                    "staff",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="clinic.staffmember",
                    ),
                ),
            ],
            options={
                "verbose_name": "access log entry",
                "verbose_name_plural": "access log",
                "ordering": ["-at"],
                "indexes": [models.Index(fields=["clinic", "-at"], name="accesslog_clinic_at")],
            },
        ),
        migrations.AddField(
            model_name="client",
            name="retention_hold",
            field=models.BooleanField(
                default=False,
                help_text="While set, the client's clinical record cannot be erased.",
                verbose_name="retention hold",
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="retention_note",
            field=models.CharField(
                blank=True,
                help_text="Why the record must be kept (no clinical details).",
                max_length=300,
                verbose_name="reason for the hold",
            ),
        ),
        migrations.CreateModel(
            name="RateLimitBucket",
            fields=[
                ("key", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("scope", models.CharField(max_length=40)),
                ("window_start", models.DateTimeField()),
                ("count", models.PositiveIntegerField(default=0)),
            ],
            options={
                "verbose_name": "rate-limit counter",
                "verbose_name_plural": "rate-limit counters",
                "indexes": [models.Index(fields=["window_start"], name="ratelimit_window_start")],
            },
        ),
        migrations.CreateModel(
            name="ClientEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                (
                    "code",
                    models.CharField(
                        help_text="A pseudonymous code such as C-0142. Do not use the client's name.",
                        max_length=32,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Za-z0-9][A-Za-z0-9-]{0,31}$",
                                "Use letters, digits and hyphens only (for example C-0142), at most 32 characters.",
                            )
                        ],
                        verbose_name="client code",
                    ),
                ),
                (
                    "display_name",
                    models.CharField(
                        blank=True,
                        help_text="Optional. Shown to the client on their form's start page.",
                        max_length=60,
                        verbose_name="first name",
                    ),
                ),
                (
                    "email",
                    models.EmailField(
                        blank=True,
                        help_text="Optional. Used only to send form links.",
                        max_length=254,
                        verbose_name="email",
                    ),
                ),
                (
                    "retention_hold",
                    models.BooleanField(
                        default=False,
                        help_text="While set, the client's clinical record cannot be erased.",
                        verbose_name="retention hold",
                    ),
                ),
                (
                    "retention_note",
                    models.CharField(
                        blank=True,
                        help_text="Why the record must be kept (no clinical details).",
                        max_length=300,
                        verbose_name="reason for the hold",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="DyadEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("started_on", models.DateField(verbose_name="started on")),
                ("ended_on", models.DateField(blank=True, null=True, verbose_name="ended on")),
                (
                    "status",
                    models.CharField(
                        choices=[("active", "Active"), ("ended", "Ended")],
                        default="active",
                        max_length=8,
                        verbose_name="status",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="TherapySessionEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("number", models.PositiveSmallIntegerField(verbose_name="session number")),
                ("date", models.DateField(verbose_name="date")),
                (
                    "attendance",
                    models.CharField(
                        choices=[("attended", "Attended"), ("no_show", "No-show")],
                        default="attended",
                        max_length=8,
                        verbose_name="attendance",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="client",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_clientevent" ("clinic_id", "code", "created_at", "display_name", "email", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retention_hold", "retention_note") VALUES (NEW."clinic_id", NEW."code", NEW."created_at", NEW."display_name", NEW."email", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."retention_hold", NEW."retention_note"); RETURN NULL;',
                    hash="0653decec9960fcf412efc0b120a7255473bfe56",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_5c3f5",
                    table="clinic_client",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="client",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "clinic_clientevent" ("clinic_id", "code", "created_at", "display_name", "email", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retention_hold", "retention_note") VALUES (NEW."clinic_id", NEW."code", NEW."created_at", NEW."display_name", NEW."email", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."retention_hold", NEW."retention_note"); RETURN NULL;',
                    hash="4b7418f751b19ef47dd1d346b08eaa1216374692",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_a8958",
                    table="clinic_client",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="client",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_clientevent" ("clinic_id", "code", "created_at", "display_name", "email", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retention_hold", "retention_note") VALUES (OLD."clinic_id", OLD."code", OLD."created_at", OLD."display_name", OLD."email", OLD."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."retention_hold", OLD."retention_note"); RETURN NULL;',
                    hash="50034efbae65cfdf6147bc1435a927348316f199",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_469d7",
                    table="clinic_client",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="dyad",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_dyadevent" ("client_id", "clinic_id", "created_at", "ended_on", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "started_on", "status", "therapist_id") VALUES (NEW."client_id", NEW."clinic_id", NEW."created_at", NEW."ended_on", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."started_on", NEW."status", NEW."therapist_id"); RETURN NULL;',
                    hash="f0ebf2b38d108403dd610b76b9985678c83336db",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_362bd",
                    table="clinic_dyad",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="dyad",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "clinic_dyadevent" ("client_id", "clinic_id", "created_at", "ended_on", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "started_on", "status", "therapist_id") VALUES (NEW."client_id", NEW."clinic_id", NEW."created_at", NEW."ended_on", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."started_on", NEW."status", NEW."therapist_id"); RETURN NULL;',
                    hash="53e7b263d3b5a16548378edb00a762aa00880e9b",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_f62f2",
                    table="clinic_dyad",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="dyad",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_dyadevent" ("client_id", "clinic_id", "created_at", "ended_on", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "started_on", "status", "therapist_id") VALUES (OLD."client_id", OLD."clinic_id", OLD."created_at", OLD."ended_on", OLD."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."started_on", OLD."status", OLD."therapist_id"); RETURN NULL;',
                    hash="b1036709ebcfec7e4185f0face9962ef914c3f34",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_33d96",
                    table="clinic_dyad",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="therapysession",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_therapysessionevent" ("attendance", "created_at", "created_by_id", "date", "dyad_id", "id", "number", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id") VALUES (NEW."attendance", NEW."created_at", NEW."created_by_id", NEW."date", NEW."dyad_id", NEW."id", NEW."number", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id"); RETURN NULL;',
                    hash="2940e93286217c989bf7c1a5abad66baf1f6819c",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_1ff7b",
                    table="clinic_therapysession",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="therapysession",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "clinic_therapysessionevent" ("attendance", "created_at", "created_by_id", "date", "dyad_id", "id", "number", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id") VALUES (NEW."attendance", NEW."created_at", NEW."created_by_id", NEW."date", NEW."dyad_id", NEW."id", NEW."number", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id"); RETURN NULL;',
                    hash="2b781f0c4a9d69a05dc36f94e834365767c6e2d6",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_f7def",
                    table="clinic_therapysession",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="therapysession",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_therapysessionevent" ("attendance", "created_at", "created_by_id", "date", "dyad_id", "id", "number", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id") VALUES (OLD."attendance", OLD."created_at", OLD."created_by_id", OLD."date", OLD."dyad_id", OLD."id", OLD."number", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id"); RETURN NULL;',
                    hash="af2416fe77a276d5ab8236ccca9921fd965d85dd",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_f27e1",
                    table="clinic_therapysession",
                    when="AFTER",
                ),
            ),
        ),
        migrations.AddField(
            model_name="clientevent",
            name="clinic",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddField(
            model_name="clientevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="clinic.client",
            ),
        ),
        migrations.AddField(
            model_name="dyadevent",
            name="client",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.client",
            ),
        ),
        migrations.AddField(
            model_name="dyadevent",
            name="clinic",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddField(
            model_name="dyadevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="clinic.dyad",
            ),
        ),
        migrations.AddField(
            model_name="dyadevent",
            name="therapist",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.staffmember",
            ),
        ),
        migrations.AddField(
            model_name="therapysessionevent",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.staffmember",
            ),
        ),
        migrations.AddField(
            model_name="therapysessionevent",
            name="dyad",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.dyad",
            ),
        ),
        migrations.AddField(
            model_name="therapysessionevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="clinic.therapysession",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clientevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="7361cf8da41baed3f08ad88a05f4b812f5c28aa8",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_a5bb7",
                    table="clinic_clientevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="dyadevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="95c2f9a6b10fde3a0192c6748f3f673f1863fbf3",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_36d83",
                    table="clinic_dyadevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="therapysessionevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="ae7d9d8ee9d8ca656d706916f349393e1e7718ec",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_da3a9",
                    table="clinic_therapysessionevent",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AlterField(
            model_name="accesslog",
            name="action",
            field=models.CharField(
                choices=[
                    ("view_dyad", "Viewed a dyad"),
                    ("view_session", "Viewed a session"),
                    ("view_dashboard", "Viewed a dashboard"),
                    ("export", "Exported data"),
                    ("privacy", "Privacy request"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="ClinicEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("name", models.CharField(max_length=200, verbose_name="name")),
                ("slug", models.SlugField(db_index=False, verbose_name="short name")),
                (
                    "time_zone",
                    models.CharField(
                        default="UTC",
                        help_text="Decides what 'today' means for session dates.",
                        max_length=64,
                        validators=[clinic.models.tenancy.validate_timezone],
                        verbose_name="time zone",
                    ),
                ),
                (
                    "therapists_need_2fa",
                    models.BooleanField(
                        default=False,
                        help_text="Supervisors and admins always need an authenticator app; this asks it of therapists too.",
                        verbose_name="therapists sign in with two steps",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="StaffMemberEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("therapist", "Therapist"),
                            ("supervisor", "Supervisor"),
                            ("admin", "Clinic admin"),
                        ],
                        max_length=16,
                        verbose_name="role",
                    ),
                ),
                ("display_name", models.CharField(max_length=150, verbose_name="display name")),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="SupervisionEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        migrations.AddField(
            model_name="clinic",
            name="therapists_need_2fa",
            field=models.BooleanField(
                default=False,
                help_text="Supervisors and admins always need an authenticator app; this asks it of therapists too.",
                verbose_name="therapists sign in with two steps",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clinic",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_clinicevent" ("created_at", "id", "name", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "slug", "therapists_need_2fa", "time_zone") VALUES (NEW."created_at", NEW."id", NEW."name", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."slug", NEW."therapists_need_2fa", NEW."time_zone"); RETURN NULL;',
                    hash="f21fb20cfa217877fff696ad6e01bada14fb25ea",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_89e20",
                    table="clinic_clinic",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clinic",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "clinic_clinicevent" ("created_at", "id", "name", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "slug", "therapists_need_2fa", "time_zone") VALUES (NEW."created_at", NEW."id", NEW."name", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."slug", NEW."therapists_need_2fa", NEW."time_zone"); RETURN NULL;',
                    hash="966287257695c3e4e8b4c58db9e540420d98f255",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_20361",
                    table="clinic_clinic",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clinic",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_clinicevent" ("created_at", "id", "name", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "slug", "therapists_need_2fa", "time_zone") VALUES (OLD."created_at", OLD."id", OLD."name", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."slug", OLD."therapists_need_2fa", OLD."time_zone"); RETURN NULL;',
                    hash="79dacfe16feec66e918dde90f429e34c8ff91530",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_b174d",
                    table="clinic_clinic",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="staffmember",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_staffmemberevent" ("clinic_id", "display_name", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role", "user_id") VALUES (NEW."clinic_id", NEW."display_name", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."role", NEW."user_id"); RETURN NULL;',
                    hash="0235dc4286a41ae4d8280a1a1bee35806108ab67",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_c152b",
                    table="clinic_staffmember",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="staffmember",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "clinic_staffmemberevent" ("clinic_id", "display_name", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role", "user_id") VALUES (NEW."clinic_id", NEW."display_name", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."role", NEW."user_id"); RETURN NULL;',
                    hash="687cf23613577474493825ebc85061f91f21d1a4",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_6c2d5",
                    table="clinic_staffmember",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="staffmember",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_staffmemberevent" ("clinic_id", "display_name", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role", "user_id") VALUES (OLD."clinic_id", OLD."display_name", OLD."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."role", OLD."user_id"); RETURN NULL;',
                    hash="4104409c46112633625a464847bdf2d64d7e5f45",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_dea42",
                    table="clinic_staffmember",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="supervision",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_supervisionevent" ("created_at", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "supervisor_id", "therapist_id") VALUES (NEW."created_at", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."supervisor_id", NEW."therapist_id"); RETURN NULL;',
                    hash="8e5004d1ada4e91a7e0eacb3ec90cdb608bc4a1e",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_9a9ce",
                    table="clinic_supervision",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="supervision",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "clinic_supervisionevent" ("created_at", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "supervisor_id", "therapist_id") VALUES (NEW."created_at", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."supervisor_id", NEW."therapist_id"); RETURN NULL;',
                    hash="295edb6ba36401dbdcf196188a9bc064e5cd964b",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_be991",
                    table="clinic_supervision",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="supervision",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_supervisionevent" ("created_at", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "supervisor_id", "therapist_id") VALUES (OLD."created_at", OLD."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."supervisor_id", OLD."therapist_id"); RETURN NULL;',
                    hash="912012d6adde54f78a0725b7207c57d64803cb54",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_c3b18",
                    table="clinic_supervision",
                    when="AFTER",
                ),
            ),
        ),
        migrations.AddField(
            model_name="clinicevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="clinic.clinic",
            ),
        ),
        migrations.AddField(
            model_name="staffmemberevent",
            name="clinic",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.clinic",
            ),
        ),
        migrations.AddField(
            model_name="staffmemberevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="clinic.staffmember",
            ),
        ),
        migrations.AddField(
            model_name="staffmemberevent",
            name="user",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="supervisionevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="clinic.supervision",
            ),
        ),
        migrations.AddField(
            model_name="supervisionevent",
            name="supervisor",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.staffmember",
            ),
        ),
        migrations.AddField(
            model_name="supervisionevent",
            name="therapist",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.staffmember",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clinicevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="e95756292361c8b8898d01ff547da61543329260",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_6f503",
                    table="clinic_clinicevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="staffmemberevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="224166c9eec62f17a69d05c77a760fb6229b4793",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_6a2a0",
                    table="clinic_staffmemberevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="supervisionevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="20f6acb7bb94831719cec826b20734c91aeaedcd",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_80703",
                    table="clinic_supervisionevent",
                    when="BEFORE",
                ),
            ),
        ),
    ]
