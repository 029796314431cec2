"""Passes over the shared IR, one per file; ``registry.get_all_passes()`` names them."""
