"""Sales writes, by subject."""
