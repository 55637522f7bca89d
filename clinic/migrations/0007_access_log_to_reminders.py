"""clinic 0007-0015 squashed (`manage.py squashmigrations clinic 0007 0015`); the replaced files
are kept for databases that applied some of them. The RunSQL constraint triggers of 0011 and
the case-insensitive username index of 0013 are here as they were.
"""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
import django.utils.timezone
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [
        ("clinic", "0007_access_log_append_only_client_by_id"),
        ("clinic", "0008_staff_security_events"),
        ("clinic", "0009_client_history_without_name_and_email"),
        ("clinic", "0010_access_log_client_details_opened"),
        ("clinic", "0011_dyads_sessions_and_supervision_consistent_in_postgres"),
        ("clinic", "0012_access_log_lists_every_client_shown"),
        ("clinic", "0013_usernames_unique_in_any_case"),
        ("clinic", "0014_job_errors"),
        ("clinic", "0015_client_reminders_opt_out"),
    ]

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("clinic", "0006_clinic_2fa_setting_and_staff_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="accesslog",
            name="client",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="clinic.client",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="accesslog",
                    name="client",
                ),
                migrations.AddField(
                    model_name="accesslog",
                    name="client_id",
                    field=models.BigIntegerField(blank=True, db_index=True, null=True),
                ),
            ],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="accesslog",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="c5d3e4309c0f885ad9d693654c84ed3c5abde934",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_256b2",
                    table="clinic_accesslog",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.CreateModel(
            name="StaffSecurityEvent",
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
                            ("password_link", "Issued a set-password link"),
                            ("two_factor_reset", "Reset two-step sign-in"),
                            ("deactivated", "Deactivated the account"),
                            ("reactivated", "Reactivated the account"),
                            ("role_changed", "Changed the role"),
                        ],
                        max_length=20,
                    ),
                ),
                ("detail", models.CharField(blank=True, max_length=200)),
                ("at", models.DateTimeField(auto_now_add=True)),
                (
                    "actor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="clinic.staffmember",
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
                    "target",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="clinic.staffmember",
                    ),
                ),
            ],
            options={
                "verbose_name": "staff security event",
                "verbose_name_plural": "staff security events",
                "ordering": ["-at"],
                "indexes": [models.Index(fields=["clinic", "-at"], name="staffsecurity_clinic_at")],
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="staffsecurityevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="a253624e549f31361cd52552b5d80b2fc50eb66f",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_cd80b",
                    table="clinic_staffsecurityevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="client",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="client",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="client",
            name="delete_delete",
        ),
        migrations.RemoveField(
            model_name="clientevent",
            name="display_name",
        ),
        migrations.RemoveField(
            model_name="clientevent",
            name="email",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="client",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_clientevent" ("clinic_id", "code", "created_at", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retention_hold", "retention_note") VALUES (NEW."clinic_id", NEW."code", NEW."created_at", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."retention_hold", NEW."retention_note"); RETURN NULL;',
                    hash="6a6de41069d8b45af216409ec17b12f44ce1e94a",
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
                    func='INSERT INTO "clinic_clientevent" ("clinic_id", "code", "created_at", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retention_hold", "retention_note") VALUES (NEW."clinic_id", NEW."code", NEW."created_at", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."retention_hold", NEW."retention_note"); RETURN NULL;',
                    hash="015952ad1af8f7f21a63dbff2a3b2de7378078fb",
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
                    func='INSERT INTO "clinic_clientevent" ("clinic_id", "code", "created_at", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retention_hold", "retention_note") VALUES (OLD."clinic_id", OLD."code", OLD."created_at", OLD."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."retention_hold", OLD."retention_note"); RETURN NULL;',
                    hash="357dbd0178d167a0cf21b75155f590a900cc19de",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_469d7",
                    table="clinic_client",
                    when="AFTER",
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
                    ("view_client", "Opened a client's details"),
                    ("view_dashboard", "Viewed a dashboard"),
                    ("export", "Exported data"),
                    ("privacy", "Privacy request"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunSQL(
            sql="\nDO $$\nDECLARE\n    n bigint;\nBEGIN\n    SELECT count(*) INTO n FROM clinic_dyad d\n        JOIN clinic_staffmember t ON t.id = d.therapist_id\n        JOIN clinic_client c ON c.id = d.client_id\n        WHERE t.clinic_id <> d.clinic_id OR c.clinic_id <> d.clinic_id;\n    IF n > 0 THEN\n        RAISE EXCEPTION '% dyad(s) have a therapist or client of another clinic', n\n            USING HINT = 'Fix clinic_dyad.clinic_id (or move the dyad) before migrating.';\n    END IF;\n    SELECT count(*) INTO n FROM clinic_supervision s\n        JOIN clinic_staffmember sup ON sup.id = s.supervisor_id\n        JOIN clinic_staffmember thr ON thr.id = s.therapist_id\n        WHERE sup.clinic_id <> thr.clinic_id\n           OR sup.role <> 'supervisor' OR thr.role <> 'therapist';\n    IF n > 0 THEN\n        RAISE EXCEPTION '% supervision(s) link two clinics or staff of the wrong role', n\n            USING HINT = 'Delete those clinic_supervision rows before migrating.';\n    END IF;\n    SELECT count(*) INTO n FROM clinic_therapysession s\n        JOIN clinic_dyad d ON d.id = s.dyad_id\n        WHERE s.date < d.started_on OR s.date > d.ended_on;\n    IF n > 0 THEN\n        RAISE EXCEPTION '% session(s) are dated outside their dyad''s start and end', n\n            USING HINT = 'Correct the session or dyad dates before migrating.';\n    END IF;\nEND\n$$;\n",
            reverse_sql="",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="dyad",
            trigger=pgtrigger.compiler.Trigger(
                name="dyad_dates_hold_sessions",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."started_on" IS DISTINCT FROM NEW."started_on" OR OLD."ended_on" IS DISTINCT FROM NEW."ended_on")',
                    func="\n                    IF EXISTS (\n                        SELECT 1 FROM clinic_therapysession s\n                        WHERE s.dyad_id = NEW.id\n                          AND (s.date < NEW.started_on OR s.date > NEW.ended_on)\n                    ) THEN\n                        RAISE EXCEPTION 'a session of the dyad falls outside its dates'\n                            USING ERRCODE = 'check_violation',\n                                  CONSTRAINT = 'session_within_dyad_dates';\n                    END IF;\n                    RETURN NULL;\n                    ",
                    hash="f7747b1c841228f73bfe59ba0f5c1f58e18c54cc",
                    operation="UPDATE",
                    pgid="pgtrigger_dyad_dates_hold_sessions_47aa9",
                    table="clinic_dyad",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="staffmember",
            trigger=pgtrigger.compiler.Trigger(
                name="staff_member_change_fits_supervision",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."role" IS DISTINCT FROM NEW."role" OR OLD."clinic_id" IS DISTINCT FROM NEW."clinic_id")',
                    func="\n                    IF EXISTS (\n                        SELECT 1 FROM clinic_supervision s\n                        JOIN clinic_staffmember sup ON sup.id = s.supervisor_id\n                        JOIN clinic_staffmember thr ON thr.id = s.therapist_id\n                        WHERE (s.supervisor_id = NEW.id OR s.therapist_id = NEW.id)\n                          AND sup.clinic_id <> thr.clinic_id\n                    ) THEN\n                        RAISE EXCEPTION 'a supervision would link two clinics'\n                            USING ERRCODE = 'check_violation',\n                                  CONSTRAINT = 'supervision_same_clinic';\n                    END IF;\n                    IF EXISTS (\n                        SELECT 1 FROM clinic_supervision s\n                        WHERE (s.supervisor_id = NEW.id AND NEW.role <> 'supervisor')\n                           OR (s.therapist_id = NEW.id AND NEW.role <> 'therapist')\n                    ) THEN\n                        RAISE EXCEPTION 'a supervision would no longer fit its roles'\n                            USING ERRCODE = 'check_violation',\n                                  CONSTRAINT = 'supervision_roles_fit';\n                    END IF;\n                    RETURN NULL;\n                    ",
                    hash="1e2a33c982a47107d403e321f549ed2dc44de9e3",
                    operation="UPDATE",
                    pgid="pgtrigger_staff_member_change_fits_supervision_ed02a",
                    table="clinic_staffmember",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="supervision",
            trigger=pgtrigger.compiler.Trigger(
                name="supervision_fits_staff",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE sup clinic_staffmember%ROWTYPE; thr clinic_staffmember%ROWTYPE;",
                    func="\n                    SELECT * INTO sup FROM clinic_staffmember\n                        WHERE id = NEW.supervisor_id FOR SHARE;\n                    SELECT * INTO thr FROM clinic_staffmember\n                        WHERE id = NEW.therapist_id FOR SHARE;\n                    IF sup.clinic_id <> thr.clinic_id THEN\n                        RAISE EXCEPTION 'supervisor and therapist are of different clinics'\n                            USING ERRCODE = 'check_violation',\n                                  CONSTRAINT = 'supervision_same_clinic';\n                    END IF;\n                    IF sup.role <> 'supervisor' OR thr.role <> 'therapist' THEN\n                        RAISE EXCEPTION 'a supervision links a supervisor to a therapist'\n                            USING ERRCODE = 'check_violation',\n                                  CONSTRAINT = 'supervision_roles_fit';\n                    END IF;\n                    RETURN NULL;\n                    ",
                    hash="669e924ccf28baceea35e7eff793d4578029aaa3",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_supervision_fits_staff_a0d55",
                    table="clinic_supervision",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="therapysession",
            trigger=pgtrigger.compiler.Trigger(
                name="session_within_dyad_dates",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE started date; ended date;",
                    func="\n                    SELECT started_on, ended_on INTO started, ended FROM clinic_dyad\n                        WHERE id = NEW.dyad_id FOR SHARE;\n                    IF NEW.date < started OR NEW.date > ended THEN\n                        RAISE EXCEPTION 'the session falls outside its dyad''s dates'\n                            USING ERRCODE = 'check_violation',\n                                  CONSTRAINT = 'session_within_dyad_dates';\n                    END IF;\n                    RETURN NULL;\n                    ",
                    hash="9b488992c28711a7d4962c88b073d341fe75e071",
                    operation='INSERT OR UPDATE OF "date", "dyad_id"',
                    pgid="pgtrigger_session_within_dyad_dates_fca36",
                    table="clinic_therapysession",
                    when="AFTER",
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="client",
            constraint=models.UniqueConstraint(
                fields=("id", "clinic"), name="client_id_clinic_key"
            ),
        ),
        migrations.AddConstraint(
            model_name="staffmember",
            constraint=models.UniqueConstraint(
                fields=("id", "clinic"), name="staff_member_id_clinic_key"
            ),
        ),
        migrations.AddConstraint(
            model_name="therapysession",
            constraint=models.UniqueConstraint(fields=("id", "dyad"), name="session_id_dyad_key"),
        ),
        migrations.RunSQL(
            sql="\nALTER TABLE clinic_dyad\n    ADD CONSTRAINT dyad_therapist_same_clinic FOREIGN KEY (therapist_id, clinic_id)\n        REFERENCES clinic_staffmember (id, clinic_id),\n    ADD CONSTRAINT dyad_client_same_clinic FOREIGN KEY (client_id, clinic_id)\n        REFERENCES clinic_client (id, clinic_id);\n",
            reverse_sql="\nALTER TABLE clinic_dyad\n    DROP CONSTRAINT dyad_therapist_same_clinic,\n    DROP CONSTRAINT dyad_client_same_clinic;\n",
        ),
        migrations.AddField(
            model_name="accesslog",
            name="client_ids",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(), blank=True, default=list, size=None
            ),
        ),
        migrations.AddIndex(
            model_name="accesslog",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["client_ids"], name="accesslog_client_ids"
            ),
        ),
        migrations.RunSQL(
            sql='CREATE UNIQUE INDEX "auth_user_username_lower_uniq" ON "auth_user" (lower("username"))',
            reverse_sql='DROP INDEX "auth_user_username_lower_uniq"',
        ),
        migrations.CreateModel(
            name="JobError",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("job_id", models.BigIntegerField()),
                ("task_name", models.CharField(max_length=128)),
                ("queue", models.CharField(max_length=128)),
                ("attempt", models.PositiveIntegerField(help_text="1 for the first try.")),
                (
                    "error",
                    models.TextField(help_text="Exception type and message, without row values."),
                ),
                ("traceback", models.TextField(blank=True)),
                ("will_retry", models.BooleanField()),
                ("failed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "job error",
                "verbose_name_plural": "job errors",
                "indexes": [models.Index(fields=["-failed_at"], name="job_error_newest")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("job_id", "attempt"), name="job_error_one_per_attempt"
                    )
                ],
            },
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="client",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="client",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="client",
            name="delete_delete",
        ),
        migrations.AddField(
            model_name="client",
            name="reminders_off",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="The client gets form links only when staff send them, never reminders.",
                verbose_name="no email reminders",
            ),
        ),
        migrations.AddField(
            model_name="clientevent",
            name="reminders_off",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="The client gets form links only when staff send them, never reminders.",
                verbose_name="no email reminders",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="client",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "clinic_clientevent" ("clinic_id", "code", "created_at", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reminders_off", "retention_hold", "retention_note") VALUES (NEW."clinic_id", NEW."code", NEW."created_at", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."reminders_off", NEW."retention_hold", NEW."retention_note"); RETURN NULL;',
                    hash="47bfb7e268e8afdf19a41da0b5c5d2804012e05a",
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
                    func='INSERT INTO "clinic_clientevent" ("clinic_id", "code", "created_at", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reminders_off", "retention_hold", "retention_note") VALUES (NEW."clinic_id", NEW."code", NEW."created_at", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."reminders_off", NEW."retention_hold", NEW."retention_note"); RETURN NULL;',
                    hash="c6242dcfa25f68bbbdcf91747b1c33c87199693e",
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
                    func='INSERT INTO "clinic_clientevent" ("clinic_id", "code", "created_at", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reminders_off", "retention_hold", "retention_note") VALUES (OLD."clinic_id", OLD."code", OLD."created_at", OLD."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."reminders_off", OLD."retention_hold", OLD."retention_note"); RETURN NULL;',
                    hash="8d584c902d8f252208a3aff5e2b4f98b7e066650",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_469d7",
                    table="clinic_client",
                    when="AFTER",
                ),
            ),
        ),
    ]
