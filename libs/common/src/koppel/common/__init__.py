"""koppel-common."""
