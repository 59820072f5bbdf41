"""koppel-catalog."""
