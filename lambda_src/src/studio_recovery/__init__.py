"""studio-recovery: backup and restore of SageMaker Studio home directories."""

__version__ = "0.1.0"
