"""Drop the single-column indexes of four foreign keys whose column leads a unique
constraint or another index, which serves the same look-ups and foreign-key checks:
answer and score (administration_id) by answer_one_per_item and score_one_per_scale,
administration (session_id) by administration_one_per_session_instrument_rater and
administration (dyad_id) by administration_dyad_rater. Each cost an index insertion per
row of every submitted form (docs/benchmarks.md).

Only the indexes are dropped: Django's own AlterField would also drop and re-add each
foreign key, re-validating every row of the answers table under a lock that blocks writes.
"""

import django.db.models.deletion
from django.db import migrations, models

# (table, index Django created for the field's db_index, column)
INDEXES = [
    ("rri_forms_administration", "rri_forms_administration_dyad_id_b11a612f", "dyad_id"),
    ("rri_forms_administration", "rri_forms_administration_session_id_aaab9483", "session_id"),
    ("rri_forms_answer", "rri_forms_answer_administration_id_c516f068", "administration_id"),
    ("rri_forms_score", "rri_forms_score_administration_id_3186b975", "administration_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("rri_forms", "0004_history_of_forms_answers_scores_per_statement"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{index}";',
                    reverse_sql=f'CREATE INDEX "{index}" ON "{table}" ("{column}");',
                )
                for table, index, column in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="administration",
                    name="dyad",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="administrations",
                        to="clinic.dyad",
                    ),
                ),
                migrations.AlterField(
                    model_name="administration",
                    name="session",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="administrations",
                        to="clinic.therapysession",
                    ),
                ),
                migrations.AlterField(
                    model_name="answer",
                    name="administration",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="answers",
                        to="rri_forms.administration",
                    ),
                ),
                migrations.AlterField(
                    model_name="score",
                    name="administration",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scores",
                        to="rri_forms.administration",
                    ),
                ),
            ],
        ),
    ]
