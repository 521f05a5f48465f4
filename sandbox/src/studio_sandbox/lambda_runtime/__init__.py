"""The Lambda runtime of the sandbox: run a function's handler from its zip, in warm workers."""
