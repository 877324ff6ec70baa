"""What the experiment scripts share about the ``harness run`` calls they make: the arguments
they pass on and running a call unless its record exists (a script imports this module by
name: ``python experiments/x.py`` puts this folder on ``sys.path``)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Sequence


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


def run_or_reuse(label: str, command: Sequence[str], records_dir: Path, log_file: Path, *,
                 tag: str) -> dict:
    """The result record of one ``harness run``: the record already in ``records_dir`` (the run
    is then skipped: an earlier call of the script did it), else the record ``command`` writes
    there when run now, its output going to ``log_file``.

    label: the run as the script's messages name it; tag: the script, as ``[tag]`` before what
    it prints. Raises SystemExit with one line when the command fails, when it writes no record
    into ``records_dir``, or when ``records_dir`` holds several (which one to reuse is then
    unclear: delete the folder to run again).
    """
    found = sorted(Path(records_dir).glob('*.json'))
    if not found:
        log_file = Path(log_file)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        shown = command[3:] if list(command[1:3]) == ['-m', 'harness.cli'] else command
        print(f'[{tag}] {label}: harness {" ".join(map(str, shown))}', flush=True)
        with open(log_file, 'w') as log:
            done = subprocess.run(list(map(str, command)), stdout=log, stderr=subprocess.STDOUT)
        if done.returncode:
            raise SystemExit(f'harness run failed for {label} (exit code {done.returncode}): '
                             f'see {log_file}')
        found = sorted(Path(records_dir).glob('*.json'))
        if not found:
            raise SystemExit(f'harness run for {label} wrote no record into {records_dir}: see '
                             f'{log_file}')
    if len(found) > 1:
        raise SystemExit(f'{records_dir} holds {len(found)} records, so which one is {label} '
                         'is unclear: delete the folder to run it again')
    return json.loads(found[0].read_text())
