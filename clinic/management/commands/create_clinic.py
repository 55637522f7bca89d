"""Create a clinic and its first admin, and print the admin's one-time sign-in link.

    python manage.py create_clinic --name "Lakeside Psychotherapy" --slug lakeside \\
        --time-zone Europe/Berlin --admin-username jdoe --admin-name "Jo Doe" \\
        --email jo@example.org --site-url https://dyad.example.org

The admin sets a password through the link, then adds the clinic's staff in the app.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinic.services.staff import clinic_create


class Command(BaseCommand):
    help = "Create a clinic with its first admin and print the admin's sign-in link."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True, help="short name: letters, digits, -")
        parser.add_argument("--time-zone", default="UTC", help="e.g. Europe/Berlin")
        parser.add_argument("--admin-username", required=True)
        parser.add_argument("--admin-name", required=True, help="the admin's display name")
        parser.add_argument("--email", default="", help="the admin's email (optional)")
        parser.add_argument(
            "--site-url", required=True, help="where Dyad is served, e.g. https://dyad.example.org"
        )

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        try:
            member, path = clinic_create(
                name=options["name"],
                slug=options["slug"],
                time_zone=options["time_zone"],
                admin_username=options["admin_username"],
                admin_name=options["admin_name"],
                email=options["email"],
            )
        except ValidationError as error:
            raise CommandError("Nothing was created: " + " ".join(error.messages)) from error
        url = options["site_url"].rstrip("/") + path
        self.stdout.write(f"Clinic {member.clinic.name} created with admin {member.user}.")
        self.stdout.write(f"Give them this one-time link to set a password (valid 3 days):\n{url}")
