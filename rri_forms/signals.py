"""Signals other apps listen to (rri_forms imports none of them)."""

from __future__ import annotations

from collections.abc import Collection

from django.dispatch import Signal

# Sent inside the saving transaction after forms were stored or corrected, with
# `session_ids` and `codes` (instrument codes): data derived from stored scores elsewhere
# (outcomes' clinic references) can follow in the same transaction.
forms_saved = Signal()


def send_forms_saved(session_ids: Collection[int], codes: Collection[str]) -> None:
    forms_saved.send(sender=None, session_ids=session_ids, codes=codes)
