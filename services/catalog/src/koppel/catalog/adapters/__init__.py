"""Catalog' I/O adapters (connectors, gateway client) behind named ports."""
