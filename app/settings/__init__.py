"""Installation settings an administrator may change, stored as data beside the defaults."""
