"""The orders service's I/O behind named ports (``ports``), and their implementations."""
