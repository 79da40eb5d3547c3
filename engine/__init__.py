"""aksi: a YAML-driven workflow engine for the Aksi Konvergensi cycle.

Nothing in this package knows a stage name: all juknis knowledge lives in
``workflows/`` and ``forms/``. Subpackages, one concept each:

- ``engine.definitions`` - load, validate and freeze workflow definitions.
- ``engine.diagrams``    - render definitions as graphs and calendars.
- ``engine.cli``         - the ``aksi`` command.
"""

__version__ = "0.1.0"
