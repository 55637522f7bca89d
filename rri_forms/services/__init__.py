"""Writes of the questionnaire engine. Each public service is one transaction."""
