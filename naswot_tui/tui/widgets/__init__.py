"""Widgets of the app: the cell diagram and the braille plot."""
