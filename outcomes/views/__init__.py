"""Thin views: gate (clinic.access), call a selector or service, render; may import all."""
