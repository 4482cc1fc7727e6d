"""Customer segmentation: pure functions that the dbt Python models call.

The maths lives here so it can be unit-tested without a warehouse; the dbt
models in ``python_models/`` only move data in and out.
"""
