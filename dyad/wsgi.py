"""WSGI entry point (gunicorn dyad.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dyad.settings")
application = get_wsgi_application()
