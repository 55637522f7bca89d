"""The clinic's pages, one module per area.

They may import clinic's access, forms, selectors, services and models, and dyad.lib.
"""
