"""Writes of the clinic domain, each one transaction that validates first.

They may import clinic.access, clinic.models, clinic.selectors and dyad.lib; never views or forms.
"""
