"""Mark a clinic's stored reference stale when one of its total scores changes.

Statement-level triggers (one call per INSERT, UPDATE or DELETE statement on the score
table, reading its transition table), so every write path is covered without the writers
knowing about outcomes: the client's submit, therapist forms and corrections, `manage.py
rescore`, erasures. Only fresh rows are updated (`NOT stale`): a clinic's row is written once
between refreshes, so concurrent submits do not queue on its row lock.
"""

from django.db import migrations

FUNCTION = """
CREATE FUNCTION outcomes_clinic_reference_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outcomes_clinicreference r SET stale = true
    FROM (
        SELECT DISTINCT d.clinic_id, a.instrument_code
        FROM changed c
        JOIN rri_forms_administration a ON a.id = c.administration_id
        JOIN clinic_dyad d ON d.id = a.dyad_id
        WHERE c.scale = 'total'
    ) x
    WHERE NOT r.stale AND r.clinic_id = x.clinic_id
      AND r.instrument_code = x.instrument_code AND r.scale = 'total';
    RETURN NULL;
END
$$;
CREATE TRIGGER clinic_reference_stale_insert AFTER INSERT ON rri_forms_score
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION outcomes_clinic_reference_stale();
CREATE TRIGGER clinic_reference_stale_update AFTER UPDATE ON rri_forms_score
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION outcomes_clinic_reference_stale();
CREATE TRIGGER clinic_reference_stale_delete AFTER DELETE ON rri_forms_score
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION outcomes_clinic_reference_stale();
"""

DROP = """
DROP TRIGGER clinic_reference_stale_insert ON rri_forms_score;
DROP TRIGGER clinic_reference_stale_update ON rri_forms_score;
DROP TRIGGER clinic_reference_stale_delete ON rri_forms_score;
DROP FUNCTION outcomes_clinic_reference_stale();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0002_clinic_reference"),
        ("rri_forms", "0007_index_total_scores_by_form"),
    ]

    operations = [migrations.RunSQL(FUNCTION, DROP)]
