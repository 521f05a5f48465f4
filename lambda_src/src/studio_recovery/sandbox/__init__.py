"""The offline sandbox: moto in server mode plus the project's extensions.

An optional extra (`studio_recovery[sandbox]`), never shipped in the Lambda zip. Start it
with `studio-recovery sandbox up` (or `python -m studio_recovery.sandbox up`), or in a
test with `studio_recovery.sandbox.server.Sandbox`.
"""
