"""Tenant and clinical consistency in Postgres: a dyad's therapist and client are of its
clinic (composite foreign keys), a supervision links a supervisor and a therapist of one
clinic, and a session falls within its dyad's dates (triggers raising a named constraint).

Existing rows are checked first: the migration refuses, saying what to fix, rather than
installing a rule the data already breaks.
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

CHECK_EXISTING_ROWS = """
DO $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM clinic_dyad d
        JOIN clinic_staffmember t ON t.id = d.therapist_id
        JOIN clinic_client c ON c.id = d.client_id
        WHERE t.clinic_id <> d.clinic_id OR c.clinic_id <> d.clinic_id;
    IF n > 0 THEN
        RAISE EXCEPTION '% dyad(s) have a therapist or client of another clinic', n
            USING HINT = 'Fix clinic_dyad.clinic_id (or move the dyad) before migrating.';
    END IF;
    SELECT count(*) INTO n FROM clinic_supervision s
        JOIN clinic_staffmember sup ON sup.id = s.supervisor_id
        JOIN clinic_staffmember thr ON thr.id = s.therapist_id
        WHERE sup.clinic_id <> thr.clinic_id
           OR sup.role <> 'supervisor' OR thr.role <> 'therapist';
    IF n > 0 THEN
        RAISE EXCEPTION '% supervision(s) link two clinics or staff of the wrong role', n
            USING HINT = 'Delete those clinic_supervision rows before migrating.';
    END IF;
    SELECT count(*) INTO n FROM clinic_therapysession s
        JOIN clinic_dyad d ON d.id = s.dyad_id
        WHERE s.date < d.started_on OR s.date > d.ended_on;
    IF n > 0 THEN
        RAISE EXCEPTION '% session(s) are dated outside their dyad''s start and end', n
            USING HINT = 'Correct the session or dyad dates before migrating.';
    END IF;
END
$$;
"""

# Immediate, not deferred like Django's own foreign keys: the violation surfaces inside the
# service's readable_integrity_errors block, as a readable message, not at commit.
DYAD_SAME_CLINIC = """
ALTER TABLE clinic_dyad
    ADD CONSTRAINT dyad_therapist_same_clinic FOREIGN KEY (therapist_id, clinic_id)
        REFERENCES clinic_staffmember (id, clinic_id),
    ADD CONSTRAINT dyad_client_same_clinic FOREIGN KEY (client_id, clinic_id)
        REFERENCES clinic_client (id, clinic_id);
"""

DROP_DYAD_SAME_CLINIC = """
ALTER TABLE clinic_dyad
    DROP CONSTRAINT dyad_therapist_same_clinic,
    DROP CONSTRAINT dyad_client_same_clinic;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0010_access_log_client_details_opened"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunSQL(CHECK_EXISTING_ROWS, migrations.RunSQL.noop),
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
        migrations.RunSQL(DYAD_SAME_CLINIC, DROP_DYAD_SAME_CLINIC),
    ]
