"""The sandbox distribution root: this file lets pytest import sandbox/tests as `sandbox.tests`."""
