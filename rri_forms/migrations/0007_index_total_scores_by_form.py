"""Index total scores by form, with their value: the dashboards' clinic-wide read of every
total becomes an index-only scan merge-joined to the forms (docs/benchmarks.md, "Dashboards
at clinic scale"). Partial on scale = 'total', so each submitted form adds one entry.

Built CONCURRENTLY (outside a transaction), so submits keep being written while it builds.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("rri_forms", "0006_forms_and_links_consistent_with_their_session"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="score",
            index=models.Index(
                condition=models.Q(("scale", "total")),
                fields=["administration"],
                include=("value",),
                name="score_total_by_administration",
            ),
        ),
    ]
