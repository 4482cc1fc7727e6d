"""Demo data generator: realistic raw tables with planted personas.

``generate_demo_data`` writes the input contract's raw tables (order lines,
customers, products, engagement events) plus two truth tables used by tests:
``demo_personas`` (the planted persona of every customer in each view) and
``demo_dirty_rows_expected`` (how many dirty rows of each kind were planted).
See ``personas`` for the persona distribution and ``orders`` for the dirty
rows.
"""

from segmentation.demo.generator import DemoDataError, generate_demo_data

__all__ = ["DemoDataError", "generate_demo_data"]
