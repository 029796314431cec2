"""Frontends: each turns one source language into shared IR and knows nothing of targets."""
