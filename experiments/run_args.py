"""What the experiment scripts share about the ``harness run`` arguments they pass on (a
script imports it by name: ``python experiments/x.py`` puts this folder on ``sys.path``)."""
from __future__ import annotations


def split_cfg_options(extra: list[str]) -> tuple[list[str], list[str]]:
    """``harness run`` arguments given after ``--``: (the values of their ``--cfg-options``,
    everything else), so that they join a run's own ``--cfg-options`` (a second
    ``--cfg-options`` flag would replace the first)."""
    options, others, inside = [], [], False
    for arg in extra:
        if arg == '--cfg-options':
            inside = True
        elif inside and not arg.startswith('--'):
            options.append(arg)
        else:
            inside = False
            others.append(arg)
    return options, others
