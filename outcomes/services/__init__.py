"""Writes, one transaction each, gated by clinic.access: may import models and selectors."""
