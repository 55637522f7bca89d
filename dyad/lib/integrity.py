"""Turn a named Postgres constraint violation into the message a form can show.

Services validate first (full_clean runs the same constraints in Python), but two
requests can still race past validation; the database is the last word, and its
constraint name tells us which readable message applies.

Rules Django's Meta.constraints cannot declare (composite foreign keys, triggers that
raise with a constraint name) are named with their message in the model's
`database_rules` mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models


def constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


@contextmanager
def readable_integrity_errors(*model_classes: type[models.Model]) -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        name = constraint_name(exc)
        for model in model_classes:
            for constraint in model._meta.constraints:
                if constraint.name == name:
                    raise ValidationError(constraint.get_violation_error_message()) from exc
            message = getattr(model, "database_rules", {}).get(name)
            if message is not None:
                raise ValidationError(message) from exc
        raise
