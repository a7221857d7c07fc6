"""A device record: its fields, their validation and encoding, the warnings (standard library and numpy only)."""
