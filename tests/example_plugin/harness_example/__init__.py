"""Example third-party plugin for ssl-harness."""
