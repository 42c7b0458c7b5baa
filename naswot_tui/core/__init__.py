"""The engine: search spaces, data, scoring, search, traces. Never imports textual or rich."""
