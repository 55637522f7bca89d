"""Reads, a fixed number of queries each: may import every app's models and reports, never views."""
