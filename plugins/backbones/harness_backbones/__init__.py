"""Backbones for ssl-harness (see plugin.py for what is registered)."""
