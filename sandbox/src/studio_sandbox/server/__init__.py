"""The sandbox server: moto in-process, its compatibility and speed fixes, the settings."""
