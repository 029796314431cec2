"""Multi-card passes: sharding, partition to SPMD, collective planning and lowering."""
