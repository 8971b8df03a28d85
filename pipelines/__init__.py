"""tickerwire pipelines: sources, store, enrichment, analytics and the command line."""

__version__ = "0.1.0"
