"""Where each value of a config comes from: the config's sources table.

A config ``X.py`` may have beside it ``X.sources.toml``, one entry per setting, keyed by its
dotted path in the merged config::

    "optim_wrapper.optimizer.lr" = { value = 30.0, source = "code", where = "facebookresearch/moco: main_lincls.py" }

``source`` is one of :data:`SOURCES`: ``code`` (read in the official code, ``where`` names the
repository and file), ``paper`` (stated in the paper; ``where``: its section or table), ``mem``
(from memory of the paper or a summary of it, not checked against either) or ``unverified``
(the original is unknown; the value is the harness's choice). The test suite checks every value
against the merged config; ``harness list`` and the record name the settings whose source is
``mem`` or ``unverified`` (:func:`unverified_settings`), so a reader sees which parts of a run are
guesses.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from harness.errors import ConfigError

#: The kinds of source a value may have, most to least certain.
SOURCES = ('code', 'paper', 'mem', 'unverified')
#: The kinds that mark a value as a guess.
UNVERIFIED = ('mem', 'unverified')


@dataclass(frozen=True)
class Source:
    """A setting of a config (``key``: its dotted path), its ``value`` and where it is from."""

    key: str
    value: Any
    source: str
    where: str = ''


def sources_file(config: str | Path) -> Path:
    """The sources table of ``config`` (``X.py`` -> ``X.sources.toml``)."""
    config = Path(config)
    return config.with_name(f'{config.stem}.sources.toml')


def read_sources(config: str | Path) -> dict[str, Source] | None:
    """The sources table of ``config`` (None when it has none); a malformed one is a one-line
    :class:`~harness.errors.ConfigError`."""
    path = sources_file(config)
    if not path.is_file():
        return None
    try:
        table = tomllib.loads(path.read_text(encoding='utf-8'))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f'sources table {path} cannot be read: {exc}') from exc
    entries = {}
    for key, entry in table.items():
        if not isinstance(entry, Mapping) or set(entry) - {'value', 'source', 'where'} \
                or 'value' not in entry or entry.get('source') not in SOURCES:
            raise ConfigError(f'sources table {path}: {key!r} needs value, source (one of '
                              f"{', '.join(SOURCES)}) and optionally where; got {entry!r}")
        entries[key] = Source(key, entry['value'], entry['source'], entry.get('where', ''))
    return entries


def unverified_settings(config: str | Path | None) -> list[str]:
    """The settings of ``config`` whose value is a guess (source ``mem`` or ``unverified``)."""
    sources = read_sources(config) if config is not None else None
    return sorted(key for key, entry in (sources or {}).items() if entry.source in UNVERIFIED)


def mismatches(cfg: Any, sources: Mapping[str, Source]) -> list[str]:
    """Where ``cfg`` (a merged config) disagrees with its sources table: one line per setting
    that is missing or holds another value."""
    from harness.config import as_plain, get_key

    cfg = as_plain(cfg)  # tuples as lists, as TOML writes them
    found = []
    for key, entry in sources.items():
        try:
            value = get_key(cfg, key)
        except KeyError:
            found.append(f'{key}: not in the config')
            continue
        if value != entry.value:
            found.append(f'{key}: the config has {value!r}, its sources table {entry.value!r}')
    return found
