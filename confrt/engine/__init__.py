"""The engine: plugins, modules, compile, catalog, apply, report, run lock."""
