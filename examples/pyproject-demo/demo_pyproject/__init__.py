"""A package whose kernel is compiled through `[tool.ferropy]` in pyproject.toml."""
