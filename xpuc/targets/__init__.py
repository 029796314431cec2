"""Targets: descriptions (data) plus a few hooks, and the registry that names them."""
