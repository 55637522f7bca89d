"""A form's dyad is its session's (composite foreign key) and a client link's issuer works
at the session's clinic (trigger raising a named constraint). Existing rows are checked
first: the migration refuses, saying what to fix, rather than install a broken rule.
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

CHECK_EXISTING_ROWS = """
DO $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM rri_forms_administration a
        JOIN clinic_therapysession s ON s.id = a.session_id
        WHERE s.dyad_id <> a.dyad_id;
    IF n > 0 THEN
        RAISE EXCEPTION '% form(s) name a dyad other than their session''s', n
            USING HINT = 'Set rri_forms_administration.dyad_id to the session''s dyad.';
    END IF;
    SELECT count(*) INTO n FROM rri_forms_clientlink l
        JOIN clinic_therapysession s ON s.id = l.session_id
        JOIN clinic_dyad d ON d.id = s.dyad_id
        JOIN clinic_staffmember m ON m.id = l.created_by_id
        WHERE m.clinic_id <> d.clinic_id;
    IF n > 0 THEN
        RAISE EXCEPTION '% client link(s) were issued by staff of another clinic', n
            USING HINT = 'Revoke and delete those rri_forms_clientlink rows before migrating.';
    END IF;
END
$$;
"""

# Immediate, not deferred like Django's own foreign keys, so a violation surfaces inside the
# service. One index probe per form on the client's submit (session_id_dyad_key).
ADMINISTRATION_DYAD_IS_SESSIONS = """
ALTER TABLE rri_forms_administration
    ADD CONSTRAINT administration_dyad_is_sessions FOREIGN KEY (session_id, dyad_id)
        REFERENCES clinic_therapysession (id, dyad_id);
"""

DROP_ADMINISTRATION_DYAD_IS_SESSIONS = """
ALTER TABLE rri_forms_administration DROP CONSTRAINT administration_dyad_is_sessions;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0011_dyads_sessions_and_supervision_consistent_in_postgres"),
        ("rri_forms", "0005_drop_indexes_covered_by_unique_constraints"),
    ]

    operations = [
        migrations.RunSQL(CHECK_EXISTING_ROWS, migrations.RunSQL.noop),
        migrations.RunSQL(ADMINISTRATION_DYAD_IS_SESSIONS, DROP_ADMINISTRATION_DYAD_IS_SESSIONS),
        pgtrigger.migrations.AddTrigger(
            model_name="clientlink",
            trigger=pgtrigger.compiler.Trigger(
                name="client_link_creator_same_clinic",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n                    IF EXISTS (\n                        SELECT 1 FROM clinic_therapysession s\n                        JOIN clinic_dyad d ON d.id = s.dyad_id\n                        JOIN clinic_staffmember m ON m.id = NEW.created_by_id\n                        WHERE s.id = NEW.session_id AND m.clinic_id <> d.clinic_id\n                    ) THEN\n                        RAISE EXCEPTION 'the link''s issuer works at another clinic'\n                            USING ERRCODE = 'check_violation',\n                                  CONSTRAINT = 'client_link_creator_same_clinic';\n                    END IF;\n                    RETURN NULL;\n                    ",
                    hash="858421883c0503fa3ae3e4e23d6ae0e53a294d05",
                    operation='INSERT OR UPDATE OF "session_id", "created_by_id"',
                    pgid="pgtrigger_client_link_creator_same_clinic_de3ef",
                    table="rri_forms_clientlink",
                    when="AFTER",
                ),
            ),
        ),
    ]
