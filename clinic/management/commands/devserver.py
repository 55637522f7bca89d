from django.core.management import call_command
from django.core.management.base import BaseCommand

from clinic.demo import demo_logins_text


class Command(BaseCommand):
    help = "Migrate, seed the demo clinic on first start, then serve (what `make run` does)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo")
        addrport = options["addrport"]
        self.stdout.write(self.style.SUCCESS(f"\nDyad is at http://{addrport}/"))
        self.stdout.write(demo_logins_text() + "\n")
        # No autoreloader: the server must be one process that a signal fully stops.
        call_command("runserver", addrport, use_reloader=False)
