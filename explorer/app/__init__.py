"""The Panel app: per-session state (state.py), one view module per tab, and the page (main.py)."""
