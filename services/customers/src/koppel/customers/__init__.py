"""koppel-customers."""
