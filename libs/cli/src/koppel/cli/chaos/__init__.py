"""The chaos and load suite: ``koppel chaos`` (see ``runner.py``) and ``koppel bench all``."""
