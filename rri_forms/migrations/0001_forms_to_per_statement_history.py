"""rri_forms 0001-0004 squashed (`manage.py squashmigrations rri_forms 0004`); the replaced files
are kept for databases that applied some of them. 0005-0009 stay as they are: 0005 drops
indexes a migration creates at its end (in one squash the drop would come first), and 0007
builds its index CONCURRENTLY, outside a transaction.
"""

import django.contrib.postgres.fields
import django.db.migrations.operations.special
import django.db.models.deletion
import django.db.models.expressions
import pghistory.utils
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

import rri_forms.models.instruments


# Copied from 0003_answers_checked_against_their_instrument_scales (a no-op on an empty
# database, kept so that the squashed path does what the original one does).
def fill_item_scales(apps, schema_editor):
    """Copy each installed version's item ranges out of its TOML; refuse stored answers
    whose copied range is not their item's (the new trigger checks only new rows)."""
    from rri_forms.instrument_spec import parse_instrument_text

    Instrument = apps.get_model("rri_forms", "Instrument")
    for instrument in Instrument.objects.all():
        spec = parse_instrument_text(instrument.source_text, instrument.source_name)
        instrument.item_scales = {
            str(item.number): [item.response_scale.min, item.response_scale.max]
            for item in spec.items
        }
        instrument.save(update_fields=["item_scales"])
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM rri_forms_answer a
            JOIN rri_forms_administration adm ON adm.id = a.administration_id
            JOIN rri_forms_instrument i ON i.id = adm.instrument_id
            WHERE (i.item_scales -> a.item_number::text)
                IS DISTINCT FROM jsonb_build_array(a.min_value, a.max_value)
            """
        )
        (bad,) = cursor.fetchone()
    if bad:
        raise RuntimeError(f"{bad} stored answers carry a range that is not their item's")


class Migration(migrations.Migration):
    replaces = [
        ("rri_forms", "0001_initial"),
        ("rri_forms", "0002_append_only_history_of_forms_and_links"),
        ("rri_forms", "0003_answers_checked_against_their_instrument_scales"),
        ("rri_forms", "0004_history_of_forms_answers_scores_per_statement"),
    ]

    initial = True

    dependencies = [
        ("clinic", "0001_initial"),
        ("clinic", "0004_append_only_history_of_clients_dyads_sessions"),
    ]

    operations = [
        migrations.CreateModel(
            name="Administration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("instrument_code", models.CharField(max_length=32)),
                (
                    "rater",
                    models.CharField(
                        choices=[("client", "Client"), ("therapist", "Therapist")], max_length=10
                    ),
                ),
                ("submitted_at", models.DateTimeField(verbose_name="submitted at")),
                (
                    "risk_flag",
                    models.BooleanField(default=False, verbose_name="risk item answered"),
                ),
                (
                    "dyad",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="administrations",
                        to="clinic.dyad",
                    ),
                ),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="administrations",
                        to="clinic.therapysession",
                    ),
                ),
                (
                    "submitted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="clinic.staffmember",
                    ),
                ),
            ],
            options={
                "verbose_name": "administration",
                "verbose_name_plural": "administrations",
            },
        ),
        migrations.CreateModel(
            name="AdministrationCorrection",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("corrected_at", models.DateTimeField(auto_now_add=True)),
                ("changes", models.JSONField()),
                (
                    "administration",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="corrections",
                        to="rri_forms.administration",
                    ),
                ),
                (
                    "corrected_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="clinic.staffmember",
                    ),
                ),
            ],
            options={
                "ordering": ["-corrected_at"],
            },
        ),
        migrations.CreateModel(
            name="Instrument",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=32, verbose_name="code")),
                ("version", models.CharField(max_length=32, verbose_name="version")),
                ("title", models.CharField(max_length=200, verbose_name="title")),
                (
                    "rater",
                    models.CharField(
                        choices=[("client", "Client"), ("therapist", "Therapist")],
                        max_length=10,
                        verbose_name="rater",
                    ),
                ),
                ("kind", models.CharField(max_length=20, verbose_name="kind")),
                ("status", models.CharField(max_length=12, verbose_name="wording status")),
                (
                    "is_current",
                    models.BooleanField(
                        default=True,
                        help_text="New forms use the current version.",
                        verbose_name="current version",
                    ),
                ),
                (
                    "has_placeholders",
                    models.BooleanField(default=False, verbose_name="carries placeholders"),
                ),
                ("source_text", models.TextField(verbose_name="definition (TOML)")),
                ("source_name", models.CharField(max_length=255, verbose_name="installed from")),
                ("structure_signature", models.CharField(max_length=64)),
                ("wording_signature", models.CharField(max_length=64)),
                ("installed_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "instrument",
                "verbose_name_plural": "instruments",
                "ordering": ["code", "version"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("code", "version"),
                        name="instrument_code_version_unique",
                        violation_error_message="This version of the instrument is already installed.",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("is_current", True)),
                        fields=("code",),
                        name="instrument_one_current_version",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("rater__in", ["client", "therapist"])),
                        name="instrument_rater_valid",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="administration",
            name="instrument",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="administrations",
                to="rri_forms.instrument",
            ),
        ),
        migrations.CreateModel(
            name="Score",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scale", models.CharField(max_length=40)),
                (
                    "value",
                    models.FloatField(
                        help_text="Empty when too many answers are missing.", null=True
                    ),
                ),
                ("band", models.CharField(blank=True, max_length=60)),
                (
                    "administration",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scores",
                        to="rri_forms.administration",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Answer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("item_number", models.PositiveSmallIntegerField()),
                ("value", models.SmallIntegerField()),
                ("min_value", models.SmallIntegerField()),
                ("max_value", models.SmallIntegerField()),
                (
                    "administration",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="answers",
                        to="rri_forms.administration",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("administration", "item_number"), name="answer_one_per_item"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("value__gte", models.F("min_value")),
                            ("value__lte", models.F("max_value")),
                        ),
                        name="answer_within_scale",
                        violation_error_message="An answer is outside the item's response scale.",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ClientLink",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token_hash", models.CharField(max_length=64, unique=True)),
                (
                    "instrument_ids",
                    models.JSONField(help_text="Instrument versions the client is asked for."),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                ("emailed_at", models.DateTimeField(blank=True, null=True)),
                ("submission_id", models.UUIDField(blank=True, null=True, unique=True)),
                ("submission_digest", models.CharField(blank=True, max_length=64)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="clinic.staffmember",
                    ),
                ),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="links",
                        to="clinic.therapysession",
                    ),
                ),
            ],
            options={
                "verbose_name": "client link",
                "verbose_name_plural": "client links",
                "ordering": ["-created_at"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("revoked_at__isnull", True)),
                        fields=("session",),
                        name="client_link_one_unrevoked_per_session",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("used_at__isnull", True),
                            ("submission_id__isnull", False),
                            _connector="OR",
                        ),
                        name="client_link_used_has_submission",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ClinicFormSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "client_codes",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=32),
                        default=rri_forms.models.instruments._default_client_codes,
                        size=None,
                        verbose_name="client forms after every session",
                    ),
                ),
                (
                    "therapist_codes",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=32),
                        default=rri_forms.models.instruments._default_therapist_codes,
                        size=None,
                        verbose_name="therapist forms after every session",
                    ),
                ),
                (
                    "symptom_codes",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=32),
                        blank=True,
                        default=rri_forms.models.instruments._default_symptom_codes,
                        size=None,
                        verbose_name="client symptom measures on a cadence",
                    ),
                ),
                (
                    "symptom_every",
                    models.PositiveSmallIntegerField(
                        default=4,
                        help_text="Given at session 1 and at every session whose number is a multiple of N.",
                        verbose_name="symptom measures every N sessions",
                    ),
                ),
                (
                    "link_lifetime_hours",
                    models.PositiveSmallIntegerField(
                        default=72, verbose_name="client link lifetime (hours)"
                    ),
                ),
                (
                    "correction_days",
                    models.PositiveSmallIntegerField(
                        default=7, verbose_name="days a therapist may correct their forms"
                    ),
                ),
                (
                    "clinic",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="form_settings",
                        to="clinic.clinic",
                    ),
                ),
            ],
            options={
                "verbose_name": "clinic form settings",
                "verbose_name_plural": "clinic form settings",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("symptom_every__gte", 1)),
                        name="form_settings_cadence_positive",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("link_lifetime_hours__gte", 1), ("link_lifetime_hours__lte", 720)
                        ),
                        name="form_settings_link_lifetime_range",
                        violation_error_message="Links must last between 1 hour and 30 days.",
                    ),
                ],
            },
        ),
        migrations.AddIndex(
            model_name="administration",
            index=models.Index(fields=["dyad", "rater"], name="administration_dyad_rater"),
        ),
        migrations.AddConstraint(
            model_name="administration",
            constraint=models.UniqueConstraint(
                fields=("session", "instrument_code", "rater"),
                name="administration_one_per_session_instrument_rater",
                violation_error_message="This form has already been completed for the session.",
            ),
        ),
        migrations.AddConstraint(
            model_name="administration",
            constraint=models.CheckConstraint(
                condition=models.Q(("rater__in", ["client", "therapist"])),
                name="administration_rater_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="score",
            constraint=models.UniqueConstraint(
                fields=("administration", "scale"), name="score_one_per_scale"
            ),
        ),
        migrations.CreateModel(
            name="AdministrationCorrectionEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("corrected_at", models.DateTimeField(auto_now_add=True)),
                ("changes", models.JSONField()),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="AdministrationEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("instrument_code", models.CharField(max_length=32)),
                (
                    "rater",
                    models.CharField(
                        choices=[("client", "Client"), ("therapist", "Therapist")], max_length=10
                    ),
                ),
                ("submitted_at", models.DateTimeField(verbose_name="submitted at")),
                (
                    "risk_flag",
                    models.BooleanField(default=False, verbose_name="risk item answered"),
                ),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="AnswerEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("item_number", models.PositiveSmallIntegerField()),
                ("value", models.SmallIntegerField()),
                ("min_value", models.SmallIntegerField()),
                ("max_value", models.SmallIntegerField()),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="ClientLinkEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                (
                    "instrument_ids",
                    models.JSONField(help_text="Instrument versions the client is asked for."),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                ("emailed_at", models.DateTimeField(blank=True, null=True)),
                ("submission_id", models.UUIDField(blank=True, null=True)),
                ("submission_digest", models.CharField(blank=True, max_length=64)),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="ScoreEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("scale", models.CharField(max_length=40)),
                (
                    "value",
                    models.FloatField(
                        help_text="Empty when too many answers are missing.", null=True
                    ),
                ),
                ("band", models.CharField(blank=True, max_length=60)),
            ],
            options={
                "ordering": ["-pgh_created_at", "-pgh_id"],
                "abstract": False,
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="administration",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_administrationevent" ("dyad_id", "id", "instrument_code", "instrument_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "rater", "risk_flag", "session_id", "submitted_at", "submitted_by_id") VALUES (NEW."dyad_id", NEW."id", NEW."instrument_code", NEW."instrument_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."rater", NEW."risk_flag", NEW."session_id", NEW."submitted_at", NEW."submitted_by_id"); RETURN NULL;',
                    hash="cc2f9e35a5d428c9df743740e4d929b3ae77d332",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_6cbb9",
                    table="rri_forms_administration",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="administration",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "rri_forms_administrationevent" ("dyad_id", "id", "instrument_code", "instrument_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "rater", "risk_flag", "session_id", "submitted_at", "submitted_by_id") VALUES (NEW."dyad_id", NEW."id", NEW."instrument_code", NEW."instrument_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."rater", NEW."risk_flag", NEW."session_id", NEW."submitted_at", NEW."submitted_by_id"); RETURN NULL;',
                    hash="f95c7900f25c3f0b058eea0e204005e9cffbcdbf",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_73e90",
                    table="rri_forms_administration",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="administration",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_administrationevent" ("dyad_id", "id", "instrument_code", "instrument_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "rater", "risk_flag", "session_id", "submitted_at", "submitted_by_id") VALUES (OLD."dyad_id", OLD."id", OLD."instrument_code", OLD."instrument_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."rater", OLD."risk_flag", OLD."session_id", OLD."submitted_at", OLD."submitted_by_id"); RETURN NULL;',
                    hash="26ed6f5c699a7c0f2d5e50943f34b169b084590f",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_3282e",
                    table="rri_forms_administration",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="administrationcorrection",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_administrationcorrectionevent" ("administration_id", "changes", "corrected_at", "corrected_by_id", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id") VALUES (NEW."administration_id", NEW."changes", NEW."corrected_at", NEW."corrected_by_id", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id"); RETURN NULL;',
                    hash="37d42dd4e14990238d88e0eddaf597828b1668b3",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_d1584",
                    table="rri_forms_administrationcorrection",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="administrationcorrection",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "rri_forms_administrationcorrectionevent" ("administration_id", "changes", "corrected_at", "corrected_by_id", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id") VALUES (NEW."administration_id", NEW."changes", NEW."corrected_at", NEW."corrected_by_id", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id"); RETURN NULL;',
                    hash="e1b2f6c789107d3ffefbedb31c64b4301a0a6767",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_39136",
                    table="rri_forms_administrationcorrection",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="administrationcorrection",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_administrationcorrectionevent" ("administration_id", "changes", "corrected_at", "corrected_by_id", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id") VALUES (OLD."administration_id", OLD."changes", OLD."corrected_at", OLD."corrected_by_id", OLD."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id"); RETURN NULL;',
                    hash="0f0723b2e52389424e45c77d68096929051daade",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_e2f37",
                    table="rri_forms_administrationcorrection",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="answer",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_answerevent" ("administration_id", "id", "item_number", "max_value", "min_value", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "value") VALUES (NEW."administration_id", NEW."id", NEW."item_number", NEW."max_value", NEW."min_value", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."value"); RETURN NULL;',
                    hash="eab9764682c3de5a119a9df5f713287fa13749d8",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_53f3c",
                    table="rri_forms_answer",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="answer",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "rri_forms_answerevent" ("administration_id", "id", "item_number", "max_value", "min_value", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "value") VALUES (NEW."administration_id", NEW."id", NEW."item_number", NEW."max_value", NEW."min_value", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."value"); RETURN NULL;',
                    hash="da10f70f1b751992673764cde8bba2f7de7c1d95",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_bce16",
                    table="rri_forms_answer",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="answer",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_answerevent" ("administration_id", "id", "item_number", "max_value", "min_value", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "value") VALUES (OLD."administration_id", OLD."id", OLD."item_number", OLD."max_value", OLD."min_value", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."value"); RETURN NULL;',
                    hash="a554454956741de0bc3e2088e865cede4b54ebc8",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_a7ca1",
                    table="rri_forms_answer",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clientlink",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_clientlinkevent" ("created_at", "created_by_id", "emailed_at", "expires_at", "id", "instrument_ids", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "revoked_at", "session_id", "submission_digest", "submission_id", "used_at") VALUES (NEW."created_at", NEW."created_by_id", NEW."emailed_at", NEW."expires_at", NEW."id", NEW."instrument_ids", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."revoked_at", NEW."session_id", NEW."submission_digest", NEW."submission_id", NEW."used_at"); RETURN NULL;',
                    hash="8f1b53f555ae6c9a2a0ecce2726b81b30fcf9d3f",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_7f876",
                    table="rri_forms_clientlink",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clientlink",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."created_at" IS DISTINCT FROM (NEW."created_at") OR OLD."created_by_id" IS DISTINCT FROM (NEW."created_by_id") OR OLD."emailed_at" IS DISTINCT FROM (NEW."emailed_at") OR OLD."expires_at" IS DISTINCT FROM (NEW."expires_at") OR OLD."id" IS DISTINCT FROM (NEW."id") OR OLD."instrument_ids" IS DISTINCT FROM (NEW."instrument_ids") OR OLD."revoked_at" IS DISTINCT FROM (NEW."revoked_at") OR OLD."session_id" IS DISTINCT FROM (NEW."session_id") OR OLD."submission_digest" IS DISTINCT FROM (NEW."submission_digest") OR OLD."submission_id" IS DISTINCT FROM (NEW."submission_id") OR OLD."used_at" IS DISTINCT FROM (NEW."used_at"))',
                    func='INSERT INTO "rri_forms_clientlinkevent" ("created_at", "created_by_id", "emailed_at", "expires_at", "id", "instrument_ids", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "revoked_at", "session_id", "submission_digest", "submission_id", "used_at") VALUES (NEW."created_at", NEW."created_by_id", NEW."emailed_at", NEW."expires_at", NEW."id", NEW."instrument_ids", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."revoked_at", NEW."session_id", NEW."submission_digest", NEW."submission_id", NEW."used_at"); RETURN NULL;',
                    hash="65b192dc002056b142a7a704a8243a6e46ff93f7",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_8364b",
                    table="rri_forms_clientlink",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clientlink",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_clientlinkevent" ("created_at", "created_by_id", "emailed_at", "expires_at", "id", "instrument_ids", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "revoked_at", "session_id", "submission_digest", "submission_id", "used_at") VALUES (OLD."created_at", OLD."created_by_id", OLD."emailed_at", OLD."expires_at", OLD."id", OLD."instrument_ids", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."revoked_at", OLD."session_id", OLD."submission_digest", OLD."submission_id", OLD."used_at"); RETURN NULL;',
                    hash="07fbe7c258206a0ffe12f41035ae8cdf7de341ff",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_f7964",
                    table="rri_forms_clientlink",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="score",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_scoreevent" ("administration_id", "band", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "scale", "value") VALUES (NEW."administration_id", NEW."band", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."scale", NEW."value"); RETURN NULL;',
                    hash="cb1d5454b5271aa2a21d227882815a2ed0262e0b",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_9cea9",
                    table="rri_forms_score",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="score",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "rri_forms_scoreevent" ("administration_id", "band", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "scale", "value") VALUES (NEW."administration_id", NEW."band", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."scale", NEW."value"); RETURN NULL;',
                    hash="fe432d1281dac3c6ba2ebe2ad847bead4c2d971b",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_1ee00",
                    table="rri_forms_score",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="score",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_scoreevent" ("administration_id", "band", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "scale", "value") VALUES (OLD."administration_id", OLD."band", OLD."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."scale", OLD."value"); RETURN NULL;',
                    hash="126c8d893075fdd4096d2426026744827d5f7cbb",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_6c3c4",
                    table="rri_forms_score",
                    when="AFTER",
                ),
            ),
        ),
        migrations.AddField(
            model_name="administrationcorrectionevent",
            name="administration",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="rri_forms.administration",
            ),
        ),
        migrations.AddField(
            model_name="administrationcorrectionevent",
            name="corrected_by",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.staffmember",
            ),
        ),
        migrations.AddField(
            model_name="administrationcorrectionevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="rri_forms.administrationcorrection",
            ),
        ),
        migrations.AddField(
            model_name="administrationevent",
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
            model_name="administrationevent",
            name="instrument",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="rri_forms.instrument",
            ),
        ),
        migrations.AddField(
            model_name="administrationevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="rri_forms.administration",
            ),
        ),
        migrations.AddField(
            model_name="administrationevent",
            name="session",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.therapysession",
            ),
        ),
        migrations.AddField(
            model_name="administrationevent",
            name="submitted_by",
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
            model_name="answerevent",
            name="administration",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="rri_forms.administration",
            ),
        ),
        migrations.AddField(
            model_name="answerevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="rri_forms.answer",
            ),
        ),
        migrations.AddField(
            model_name="clientlinkevent",
            name="created_by",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.staffmember",
            ),
        ),
        migrations.AddField(
            model_name="clientlinkevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="rri_forms.clientlink",
            ),
        ),
        migrations.AddField(
            model_name="clientlinkevent",
            name="session",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="clinic.therapysession",
            ),
        ),
        migrations.AddField(
            model_name="scoreevent",
            name="administration",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="rri_forms.administration",
            ),
        ),
        migrations.AddField(
            model_name="scoreevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="rri_forms.score",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="administrationcorrectionevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="89d9df8fe799584a101473f93df7f2996e4d2240",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_2f5d3",
                    table="rri_forms_administrationcorrectionevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="administrationevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="76230b9ae9b75a69712b021dbac3d6fa1659c289",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_092a6",
                    table="rri_forms_administrationevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="answerevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="98cddeb0b19ee5d3279b6d7d625c0edfb6f1fc38",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_73d1e",
                    table="rri_forms_answerevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clientlinkevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="b1125a18c4de3cb1bba40a921c92a061ee4f6f82",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_fc383",
                    table="rri_forms_clientlinkevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="scoreevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="2e57c58a636d16d74801a70efa1bcc0260376952",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_b3dc4",
                    table="rri_forms_scoreevent",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddField(
            model_name="instrument",
            name="item_scales",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(
            code=fill_item_scales,
            reverse_code=django.db.migrations.operations.special.RunPython.noop,
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="answer",
            trigger=pgtrigger.compiler.Trigger(
                name="answer_scale_matches_instrument_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n            IF EXISTS (\n                SELECT 1 FROM new_answers a\n                JOIN rri_forms_administration adm ON adm.id = a.administration_id\n                JOIN rri_forms_instrument i ON i.id = adm.instrument_id\n                WHERE (i.item_scales -> a.item_number::text)\n                    IS DISTINCT FROM jsonb_build_array(a.min_value, a.max_value)\n            ) THEN\n                RAISE EXCEPTION 'an answer''s item or range is not its instrument version''s'\n                    USING ERRCODE = 'check_violation',\n                          CONSTRAINT = 'answer_scale_matches_instrument';\n            END IF;\n            RETURN NULL;\n            ",
                    hash="e398a3df43acc8df9925d25075db954570037471",
                    level="STATEMENT",
                    operation="INSERT",
                    pgid="pgtrigger_answer_scale_matches_instrument_insert_afd6d",
                    referencing="REFERENCING NEW TABLE AS new_answers ",
                    table="rri_forms_answer",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="answer",
            trigger=pgtrigger.compiler.Trigger(
                name="answer_scale_matches_instrument_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n            IF EXISTS (\n                SELECT 1 FROM new_answers a\n                JOIN rri_forms_administration adm ON adm.id = a.administration_id\n                JOIN rri_forms_instrument i ON i.id = adm.instrument_id\n                WHERE (i.item_scales -> a.item_number::text)\n                    IS DISTINCT FROM jsonb_build_array(a.min_value, a.max_value)\n            ) THEN\n                RAISE EXCEPTION 'an answer''s item or range is not its instrument version''s'\n                    USING ERRCODE = 'check_violation',\n                          CONSTRAINT = 'answer_scale_matches_instrument';\n            END IF;\n            RETURN NULL;\n            ",
                    hash="0c5eacc2c7c514d88311eb3134d333f81af8ece8",
                    level="STATEMENT",
                    operation="UPDATE",
                    pgid="pgtrigger_answer_scale_matches_instrument_update_f551e",
                    referencing="REFERENCING NEW TABLE AS new_answers ",
                    table="rri_forms_answer",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="instrument",
            trigger=pgtrigger.compiler.Trigger(
                name="instrument_scales_fixed_once_answered",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."item_scales" IS DISTINCT FROM (NEW."item_scales"))',
                    func="\n                    IF EXISTS (SELECT 1 FROM rri_forms_administration\n                               WHERE instrument_id = NEW.id) THEN\n                        RAISE EXCEPTION 'instrument % v% has answers: its item scales are fixed',\n                            NEW.code, NEW.version\n                            USING ERRCODE = 'check_violation',\n                                  CONSTRAINT = 'instrument_scales_fixed_once_answered';\n                    END IF;\n                    RETURN NEW;\n                    ",
                    hash="20858bb74850a591f9ba6acc6f31ce2880e7721b",
                    operation="UPDATE",
                    pgid="pgtrigger_instrument_scales_fixed_once_answered_95592",
                    table="rri_forms_instrument",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="answer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("min_value__lt", models.F("max_value")),
                    (
                        "max_value__lte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("min_value"), "+", models.Value(10)
                        ),
                    ),
                ),
                name="answer_scale_bounds_sane",
                violation_error_message="An answer's response scale is not a valid scale.",
            ),
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="administration",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="answer",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="score",
            name="insert_insert",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="administration",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_administrationevent" ("dyad_id", "id", "instrument_code", "instrument_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "rater", "risk_flag", "session_id", "submitted_at", "submitted_by_id") SELECT new_values."dyad_id", new_values."id", new_values."instrument_code", new_values."instrument_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', new_values."id", new_values."rater", new_values."risk_flag", new_values."session_id", new_values."submitted_at", new_values."submitted_by_id" FROM ( SELECT new_values.* FROM new_values  ) AS new_values; RETURN NULL;',
                    hash="c12becf1b41a1b887b28884bab124ec3787e8c1a",
                    level="STATEMENT",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_6cbb9",
                    referencing="REFERENCING NEW TABLE AS new_values ",
                    table="rri_forms_administration",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="answer",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_answerevent" ("administration_id", "id", "item_number", "max_value", "min_value", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "value") SELECT new_values."administration_id", new_values."id", new_values."item_number", new_values."max_value", new_values."min_value", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', new_values."id", new_values."value" FROM ( SELECT new_values.* FROM new_values  ) AS new_values; RETURN NULL;',
                    hash="63521b22289c9ae329ffc0b001e377ed16c9349b",
                    level="STATEMENT",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_53f3c",
                    referencing="REFERENCING NEW TABLE AS new_values ",
                    table="rri_forms_answer",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="score",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rri_forms_scoreevent" ("administration_id", "band", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "scale", "value") SELECT new_values."administration_id", new_values."band", new_values."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', new_values."id", new_values."scale", new_values."value" FROM ( SELECT new_values.* FROM new_values  ) AS new_values; RETURN NULL;',
                    hash="c81ad91f1daf75492d94d5045b5a5a1738992f13",
                    level="STATEMENT",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_9cea9",
                    referencing="REFERENCING NEW TABLE AS new_values ",
                    table="rri_forms_score",
                    when="AFTER",
                ),
            ),
        ),
    ]
