"""Batch experiments: designs, seeds, executors (local processes, Dask) and Parquet storage.

Four things kept apart (as in the EMA Workbench):

* what varies: :mod:`~sim.experiments.schema` (the experiment file), :mod:`~sim.experiments.loader`
  (checked against the base scenario), :mod:`~sim.experiments.design` (grid, LHS, Sobol, Morris
  via SALib) and :mod:`~sim.experiments.seeds` (one root seed, a child per run);
* what the model is: :func:`sim.experiments.tasks.run_model`, a function of
  (scenario, overrides, seed) to a summary dict;
* how it runs: :mod:`~sim.experiments.executors` (``SerialExecutor``, ``ProcessExecutor``,
  ``DaskExecutor``), swappable without touching the model;
* where results go and what is made of them: :mod:`~sim.experiments.store` (resumable
  Parquet dataset), :mod:`~sim.experiments.batch` (ties it together),
  :mod:`~sim.experiments.analysis` (per-point statistics, Sobol / Morris indices, charts).

Reading results::

    import pandas as pd
    runs = pd.read_parquet("results/experiments/smoke/runs")          # one row per run
    deals = pd.read_parquet("results/experiments/smoke/deals")        # ledgers (point is a category)

    import duckdb
    duckdb.sql('''
        select point, "drivers.funding.scale" as funding, avg(deals_2024) as deals
        from read_parquet('results/experiments/smoke/runs/*.parquet')
        where status = 'ok' group by all order by point''')
    duckdb.sql('''
        select point, stage, count(*) as deals
        from read_parquet('results/experiments/smoke/deals/*/*.parquet', hive_partitioning = true)
        group by all''')

Modules here import no heavy library at import time beyond numpy, pandas and pyarrow;
Mesa is imported by the workers that run the model.
"""
