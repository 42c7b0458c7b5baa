"""naswot-tui: training-free neural architecture search (NASWOT) in the terminal."""

__version__ = "0.1.0"
