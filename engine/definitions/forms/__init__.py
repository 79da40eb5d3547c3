"""The language forms are written in, as definitions: a form's JSON Schema read as
sections, rows and fields (``spec``), JSON Logic type-checked and compiled (``logic``), and
a form's rules file (``rules``). No database, no entered data: the definition checker uses
them, and so does ``engine.forms`` (the data entered on them).

Import from the modules: ``engine.definitions`` does not import this package, so loading
a pinned definition does not pay for JSON Logic.
"""
