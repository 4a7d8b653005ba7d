"""Plain-Python rules of the hotline: no flask, no sqlalchemy. ``now`` is always a parameter."""
