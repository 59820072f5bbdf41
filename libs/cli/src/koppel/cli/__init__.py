"""koppel-cli."""
