"""The harness that drives the sandbox: scenarios, `make demo`, `make reliability`.

Apart from the service stand-ins: it applies the real module (the examples directory is
given to it), runs the product's admin CLI and checks what came back.
"""
