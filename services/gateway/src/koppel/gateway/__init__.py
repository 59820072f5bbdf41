"""koppel-gateway."""
