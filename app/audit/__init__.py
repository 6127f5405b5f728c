"""Append-only, hash-chained audit trail of everything done to accounts and case data."""
