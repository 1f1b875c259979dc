"""SecureChat's relay benchmark: ``python -m bench.relay`` (see docs/PERFORMANCE.md).

A command that prints figures, never a test: nothing here is collected by pytest.
"""
