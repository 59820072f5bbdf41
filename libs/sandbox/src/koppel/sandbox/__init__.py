"""koppel-sandbox."""
