"""Pure page-building code, frames in, rows out: imports analytics, instrument_spec; no Django."""
