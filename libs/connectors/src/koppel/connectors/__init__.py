"""koppel-connectors."""
