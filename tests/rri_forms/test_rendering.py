"""The pre-rendered item blocks are cached per active language."""

from __future__ import annotations

import pytest
from django.utils import translation

from rri_forms import rendering
from rri_forms.selectors import current_instruments

pytestmark = pytest.mark.django_db


def test_a_second_language_is_not_served_from_the_first_languages_cache(monkeypatch):
    monkeypatch.setattr(rendering, "_cache", {})
    # Stands in for a catalogue: the text tells which language was active when it was built.
    monkeypatch.setattr(rendering, "_", lambda text: f"[{translation.get_language()}] {text}")
    instrument = current_instruments(["RRI-T"])[0]
    with translation.override("en"):
        english = rendering.render_items(instrument, {}, [1])
    with translation.override("de"):
        german = rendering.render_items(instrument, {}, [1])
    with translation.override("en"):
        english_again = rendering.render_items(instrument, {}, [1])
    assert "[en] Please answer this question." in english
    assert "[de] Please answer this question." in german and "[en]" not in german
    assert english_again == english
    assert len(rendering._cache) == 2
