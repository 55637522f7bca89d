"""Create the demo clinic with completed forms (development only; idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clinic.demo import build_demo, demo_exists
from clinic.models import Dyad
from rri_forms.demo import add_demo_forms, refresh_statistics


class Command(BaseCommand):
    help = "Create the demo clinic and its forms (development only; does nothing if present)."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if not settings.DEBUG:
            raise CommandError("seed_demo refuses to run with DEBUG off: it creates known logins.")
        if demo_exists():
            self.stdout.write("Demo clinic already present; nothing to do.")
            return
        with transaction.atomic():
            main, other = build_demo()
            main_forms = add_demo_forms(main)
            other_forms = add_demo_forms(other)
        refresh_statistics()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo clinic created: {len(main.dyads)} dyads, {len(main.sessions)} sessions, "
                f"{main_forms['administrations']} completed forms "
                f"({main_forms['answers']} answers, {main_forms['scores']} scores), "
                f"{main_forms['links']} unused client links; second clinic with "
                f"{len(other.dyads)} dyads, {len(other.sessions)} sessions, "
                f"{other_forms['administrations']} completed forms."
            )
        )
        codes = dict(
            Dyad.objects.filter(pk__in=main_forms["rupture_dyad_ids"]).values_list(
                "pk", "client__code"
            )
        )
        ruptures = ", ".join(
            f"{codes[pk]} (session {number})"
            for pk, number in main_forms["rupture_sessions"].items()
        )
        if ruptures:
            self.stdout.write(f"Relationship ruptures to find on the dashboards: {ruptures}.")
