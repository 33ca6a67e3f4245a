"""licsim: an agent-based model of cross-border drug licensing out of China.

Package map (find a mechanism by its name):
    sim.model        the Mesa model: agents, columnar asset book, market phases, drivers, accounts
    sim.scenarios    the YAML scenario schema (every parameter's home) and its loader
    sim.experiments  designs, seeds, executors (local processes, Dask) and Parquet storage
    sim.analysis     yearly metrics, validation against targets, calibration, charts
    sim.interfaces   the `licsim` command line and the Solara dashboard

Conventions: one model step is one calendar month; all money is float64 US dollars.
"""

__version__ = "0.1.0"
