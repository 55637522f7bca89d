"""Reads of the clinic domain: querysets and the data of its pages.

They may import clinic.access, clinic.models and dyad.lib; never services, views or forms.
"""
