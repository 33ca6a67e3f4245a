"""One module per `licsim` command group; each defines ``register(app)``.

The CLI discovers the modules in this package, so adding a command means adding
a module here and nothing else. Modules must import heavy libraries (mesa, dask,
solara) inside the command functions, so ``licsim --help`` stays fast.
"""
