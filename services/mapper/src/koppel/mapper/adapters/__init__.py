"""The mapper's I/O: its own tables (``repository``)."""
