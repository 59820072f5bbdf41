"""koppel-notifier."""
