"""Organisations: exit teams, agencies and relocation partners."""
