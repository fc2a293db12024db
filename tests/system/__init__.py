"""System tests: real commands inside the scratch system (a package, so its conftest is not the top-level `conftest`)."""
