"""The clinic domain: tenants, staff and roles, supervision, clients, dyads, sessions."""

from clinic.models.audit import AccessLog, StaffSecurityEvent
from clinic.models.care import Client, Dyad, TherapySession
from clinic.models.jobs import JobError
from clinic.models.ratelimit import RateLimitBucket
from clinic.models.tenancy import Clinic, StaffMember, Supervision

__all__ = [
    "AccessLog",
    "Client",
    "Clinic",
    "Dyad",
    "JobError",
    "RateLimitBucket",
    "StaffMember",
    "StaffSecurityEvent",
    "Supervision",
    "TherapySession",
]

# Event models of the append-only history: they must be defined while models load.
from clinic import history as _history  # noqa: E402, F401
