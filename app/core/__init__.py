"""Shared kernel: database base, clock, crypto, security headers, errors, the access guard."""
