"""The only code that changes models. Services flush; the caller commits once."""
