"""Driver, command line, pipeline, diagnostics and artifact format."""
