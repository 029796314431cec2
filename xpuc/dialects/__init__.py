"""Dialects of the shared IR: upstream ones from xDSL plus ``xpu`` for what upstream lacks."""
