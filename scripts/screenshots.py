"""README screenshots: the phone form, a dyad page and the supervisor dashboard.

    python scripts/screenshots.py        (or: make screenshots)

Without DATABASE_URL it re-runs itself through scripts/with_db.py on an embedded database
of its own (dyad_screens), which it drops and rebuilds every run so the pictures always
show the same seeded demo clinic. It logs one new session for the demo therapist (to get a
client link), starts the development server on a free loopback port, takes the pictures
with Debian's Chromium through Playwright, stops the server, and saves palette PNGs
(≤ 150 KB each) in docs/screenshots/.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PY = sys.executable
DB_NAME = "dyad_screens"
CHROMIUM = os.environ.get("DYAD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--hide-scrollbars",
]
PASSWORD = "dyad-demo-2026"  # noqa: S105 - the documented demo login
MAX_BYTES = 150 * 1024


def prepare() -> None:
    """(Inside Django) a fresh client link for the demo therapist, and the dyad to show."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dyad.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from clinic import selectors, services
    from clinic.models import Dyad
    from rri_forms.services.links import link_issue

    user = get_user_model().objects.get(username="therapist")
    dyads = Dyad.objects.filter(therapist__user=user, status=Dyad.Status.ACTIVE)
    shown = dyads.annotate(n=Count("sessions")).order_by("-n", "pk").first()
    # The client link comes from a session logged now on another dyad, so the dyad shown
    # keeps its seeded history. Prefer a client with a first name for the greeting.
    candidates = list(dyads.exclude(pk=shown.pk).select_related("client").order_by("pk"))
    other = next((d for d in candidates if d.client.display_name), candidates[0])
    session = services.session_log(
        actor_user=user,
        dyad=other,
        number=selectors.next_session_number(other),
        date=other.clinic.today(),
    )
    _link, token = link_issue(actor_user=user, session=session)
    print(json.dumps({"token": token, "dyad": shown.pk}))


def recreate_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    if os.environ.get("DYAD_DB_NAME") != DB_NAME or not url.endswith("/" + DB_NAME):
        return  # a database we were given: use it as it is
    with psycopg.connect(url[: -len(DB_NAME)] + "postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(env: dict[str, str]):  # type: ignore[no-untyped-def]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(  # noqa: S603
        [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url + "/accounts/login/", timeout=5).close()  # noqa: S310
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the development server did not start")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def save_small(png: bytes, path: Path) -> int:
    """Save as a palette PNG no larger than MAX_BYTES (fewer colours, then smaller)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    for colors, scale in ((256, 1.0), (128, 1.0), (64, 1.0), (64, 0.8), (32, 0.7)):
        resized = image
        if scale != 1.0:
            resized = image.resize((int(image.width * scale), int(image.height * scale)))
        buffer = io.BytesIO()
        quantized = resized.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
        quantized.save(buffer, "PNG", optimize=True)
        if buffer.tell() <= MAX_BYTES:
            break
    path.write_bytes(buffer.getvalue())
    return buffer.tell()


def sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def wait_for_charts(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "document.querySelectorAll('[data-figure]').length === "
        "document.querySelectorAll('[data-figure].js-plotly-plot').length"
    )
    page.wait_for_timeout(300)  # plotly's transitions


def shoot(base: str, token: str, dyad: int) -> list[tuple[Path, int]]:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        page = phone.new_page()
        page.goto(f"{base}/f/{token}")
        page.get_by_role("link", name="Start").tap()
        page.wait_for_url("**/c/form/")
        questions = page.locator("fieldset.q")
        for index in range(3):
            questions.nth(index).locator("label.opt").nth(3 - index % 2).tap()
        page.evaluate("window.scrollTo(0, 0)")
        path = OUT / "phone-form.png"
        saved.append((path, save_small(page.screenshot(), path)))
        phone.close()

        # Tall enough for the alerts and the first row of charts.
        desktop = browser.new_context(viewport={"width": 1280, "height": 1500})
        page = desktop.new_page()
        sign_in(page, base, "therapist")
        page.goto(f"{base}/dyads/{dyad}/")
        wait_for_charts(page)
        path = OUT / "dyad-page.png"
        saved.append((path, save_small(page.screenshot(), path)))
        desktop.close()

        desktop = browser.new_context(viewport={"width": 1280, "height": 900})
        page = desktop.new_page()
        sign_in(page, base, "supervisor")
        response = page.goto(f"{base}/supervision/")
        name = "supervisor-dashboard.png"
        if response.status != 200:
            page.goto(f"{base}/caseload/")
            name = "caseload.png"
        if page.locator("[data-figure]").count():
            wait_for_charts(page)
        path = OUT / name
        saved.append((path, save_small(page.screenshot(), path)))
        desktop.close()
        browser.close()
    return saved


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--prepare":
        return prepare()
    if not os.environ.get("DATABASE_URL"):
        env = dict(os.environ, DYAD_DB_NAME=DB_NAME)
        command = [PY, str(ROOT / "scripts" / "with_db.py"), PY, __file__, *sys.argv[1:]]
        sys.exit(subprocess.call(command, env=env, cwd=ROOT))  # noqa: S603
    if not Path(CHROMIUM).exists():
        sys.exit(f"Chromium not found at {CHROMIUM}: sudo apt-get install -y chromium")
    recreate_database()
    # The demo clinic and its known logins exist only in development mode.
    env = dict(os.environ, DEBUG="true", REQUIRE_2FA="false", LOG_LEVEL="WARNING")
    quiet = {"cwd": ROOT, "env": env, "check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([PY, "manage.py", "migrate", "--noinput"], **quiet)  # noqa: S603
    subprocess.run([PY, "manage.py", "seed_demo"], **quiet)  # noqa: S603
    prepared = subprocess.run(  # noqa: S603
        [PY, __file__, "--prepare"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    data = json.loads(prepared.stdout.strip().splitlines()[-1])
    with server(env) as base:
        saved = shoot(base, data["token"], data["dyad"])
    for path, size in saved:
        print(f"{path.relative_to(ROOT)}: {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
