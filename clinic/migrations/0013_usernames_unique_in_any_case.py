"""Usernames are unique whatever their case, in PostgreSQL: the services' case-insensitive
check alone let parallel sign-up requests for "RaceUser" and "raceuser" all through.

auth_user is Django's table, so the index is created here with its name
(clinic.staff_services.USERNAME_TAKEN reads a violation of it as the readable message).
A database that already holds two usernames differing only in case stops this migration:
rename one first.
"""

from django.conf import settings
from django.db import migrations

INDEX = "auth_user_username_lower_uniq"


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("clinic", "0012_access_log_lists_every_client_shown"),
    ]

    operations = [
        migrations.RunSQL(
            f'CREATE UNIQUE INDEX "{INDEX}" ON "auth_user" (lower("username"))',
            f'DROP INDEX "{INDEX}"',
        )
    ]
