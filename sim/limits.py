"""Limits on what licsim reads and runs, in one place (README, "Bad input").

Each is checked before any work is done and, when passed, refused with one line naming the
file, the field and the limit (exit code 2).
"""

from __future__ import annotations

#: Seeds are recorded in signed 64-bit columns (Parquet INT64): 0 to 2**63 - 1.
MAX_SEED = 2**63 - 1
#: Earliest first month and latest last month of a scenario.
FIRST_YEAR, LAST_YEAR = 1990, 2100
#: Longest scenario span, in months (50 years).
MAX_SPAN_MONTHS = 600
#: Largest YAML file read (a scenario, each file it extends, an experiment): 1 MiB.
MAX_YAML_BYTES = 1024 * 1024
#: Most values a YAML file may hold once its aliases are expanded.
MAX_YAML_NODES = 100_000
#: Most runs (design points x replications) in one batch.
MAX_BATCH_RUNS = 1_000_000
#: Most design points in one batch.
MAX_DESIGN_POINTS = 1_000_000
#: Most varied parameters in one experiment.
MAX_DESIGN_PARAMETERS = 100
