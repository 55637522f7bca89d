"""URLs for the HTTP benchmarks only (bench/run.py): included when DYAD_BENCH=1.

`/bench/ping` is the trivial Django view the other pages are compared with: the whole
middleware stack, no template, no database.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def ping(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/ping", ping, name="bench_ping")]
