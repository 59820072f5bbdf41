"""koppel-mapper."""
