"""Deleting what is no longer to be kept, by the rules in app/rules/rules.toml."""
