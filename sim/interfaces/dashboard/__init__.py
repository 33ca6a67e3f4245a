"""The workshop dashboard (Mesa SolaraViz + custom Solara panels).

Modules:
  assets     ``python -m sim.interfaces.dashboard.assets``: completes the offline front-end cache
  data       scenario listing, the dashboard model wrapper, result-folder loading (no solara import)
  panels     matplotlib figures of the live panels (pure functions of data frames; also used by reports)
  app        the Solara app (``solara run sim.interfaces.dashboard.app``)

Importing this package is cheap: solara and mesa are imported only by ``app``.
"""
