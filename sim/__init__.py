"""Strategic scenario simulation: actors whose alignment shifts with events, run as Monte Carlo batches."""

__version__ = "0.1.0"
