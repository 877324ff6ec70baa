"""What ``harness suite`` prints: the status of each run (before or without running) and the
summary table at the end of ``suite run``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from harness.suite.executors import Outcome
from harness.suite.planning import PlannedRun


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows as aligned text columns (the last column is not padded)."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)]
        lines.append('  '.join([*cells, str(row[-1])]).rstrip())
    return '\n'.join(lines)


def run_state(run: PlannedRun) -> str:
    """``finished`` (its record is there), ``started`` (a pretraining or an evaluation of it is
    done: a rerun continues from there) or ``missing``."""
    return 'finished' if run.finished else 'started' if run.started else 'missing'


def status_table(planned: Sequence[PlannedRun]) -> str:
    rows = [(run.label, run_state(run), str(run.record) if run.record else '-')
            for run in planned]
    return table(('run', 'state', 'record'), rows)


def first_metric(record: Path | None) -> str:
    """``name mean ± std unit`` of the record's first metric."""
    if record is None:
        return '-'
    metrics = json.loads(Path(record).read_text(encoding='utf-8'))['metrics']
    name, entry = next(iter(metrics.items()))
    unit = entry.get('unit', '')
    spread = f" ± {entry['std']}" if 'std' in entry else ''
    return f"{name} {entry['value']}{spread}{unit}"


def summary_table(outcomes: Sequence[Outcome]) -> str:
    rows = [(o.run.label, o.state, first_metric(o.record),
             str(o.record) if o.record else o.message or '-') for o in outcomes]
    return table(('run', 'state', 'first metric (mean ± std)', 'record'), rows)


def counts(outcomes: Sequence[Outcome]) -> str:
    found = {state: sum(o.state == state for o in outcomes) for state in ('ran', 'reused',
                                                                            'failed')}
    return ', '.join(f'{n} {state}' for state, n in found.items())
