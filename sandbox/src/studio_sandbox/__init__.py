"""studio_sandbox: the offline AWS sandbox of studio-recovery (moto plus the project's stand-ins).

Its own distribution (`studio-recovery-sandbox`), never shipped in the Lambda zip. Start it
with `studio-recovery-sandbox up` (or `python -m studio_sandbox up`), or in a test with
`studio_sandbox.server.app.Sandbox`.
"""
