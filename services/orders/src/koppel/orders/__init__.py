"""koppel-orders."""
