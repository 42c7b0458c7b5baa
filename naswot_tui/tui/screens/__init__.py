"""Screens: setup, live, runs, compare, help, confirm."""
