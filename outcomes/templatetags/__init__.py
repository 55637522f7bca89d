"""Template tags and filters of the outcomes pages: may import analytics, reports, models."""
