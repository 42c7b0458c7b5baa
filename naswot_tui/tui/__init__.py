"""The Textual front end. Never imports torch at module scope."""
