"""The production 500s the probe found (issue 15, item 5), one request each; the fuzz
strategies (tests/fuzz/fuzzing.py) now draw NUL bytes and non-ASCII digits everywhere."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["caseload", "therapist_detail"])
def test_a_nul_byte_in_the_caseload_search_is_searched_without_it(personas, login, name):
    http = login("admin_a")
    args = [personas.therapist_a1.pk] if name == "therapist_detail" else []
    response = http.get(reverse(name, args=args), {"q": "A1\x00-0001"})
    assert response.status_code == 200
    assert personas.dyad_a1.client.code in response.content.decode()


@pytest.mark.parametrize(
    "digits", ["０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩"], ids=["full-width", "arabic-indic"]
)
def test_client_edit_with_a_non_ascii_back_link_goes_home(personas, login, digits):
    """The therapist's own dyad, in other digits: int() reads it, the URL does not."""
    http = login("therapist_a1")
    url = reverse("client_edit", args=[personas.dyad_a1.client_id])
    back = str(personas.dyad_a1.pk).translate(str.maketrans("0123456789", digits))
    response = http.get(url, {"dyad": back})
    assert response.status_code == 200
    assert response.context["back_url"] == reverse("home")


def test_a_nul_byte_in_the_fhir_questionnaire_path_is_a_404(login):
    http = login("therapist_a1")
    response = http.get("/exports/fhir/questionnaires/RRI-C%00/1.json")
    assert response.status_code == 404
