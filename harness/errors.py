"""Errors the user can act on.

A :class:`HarnessError` is printed by the CLI as one line (``harness: error: ...``) and exits
with code 2; ``--debug`` shows the traceback instead. Messages say what is wrong and what to do.
"""


class HarnessError(Exception):
    """A user-facing error: bad input, missing data, an unknown name."""

    exit_code = 2


class PluginError(HarnessError):
    """A plugin conflict or an unknown plugin name."""


class RecordError(HarnessError):
    """A result record that is malformed; the message names the file and the field."""


class DataError(HarnessError):
    """A dataset root that does not have the expected layout."""


class ConfigError(HarnessError):
    """A config that cannot be used as given: an unknown config name or key, a value that
    mmengine would reject; the message names the config and the key."""
