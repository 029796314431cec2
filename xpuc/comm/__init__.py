"""Multi-card support: topologies, collective algorithms and their cost model.

The passes that use them live under ``xpuc/passes/comm/``; the multi-process
runtime under ``xpuc/runtime/distributed.py``.
"""
