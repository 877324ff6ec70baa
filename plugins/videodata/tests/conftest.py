"""Fixtures and markers of the videodata plugin's tests."""
from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: renders a full-size demo dataset (deselect with '
                                       '-m "not slow")')
