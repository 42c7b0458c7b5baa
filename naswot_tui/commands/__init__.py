"""CLI subcommands; each module exposes ``register(app)`` (see cli._SUBCOMMAND_MODULES)."""
