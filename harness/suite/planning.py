"""Planning a suite: every run resolved and checked as ``harness run --dry-run`` would (its
:class:`~harness.run.RunPlan` and jobs), its record identity computed, and whether the suite's
records folder already holds that record, all before anything is trained.

All the runs share the suite's work folder, so a pretraining several runs ask for (the same
pretraining key) is trained once and found finished by the others; :func:`groups` puts such
runs together (one submitted job each).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from harness.errors import HarnessError, RecordError
from harness.plugins import PluginManager
from harness.suite.spec import Suite, SuiteRun

Log = Callable[[str], None]


@dataclass(frozen=True)
class PlannedRun:
    """A run of the suite as planned: ``index`` in the suite, its options, plan and jobs, the
    identity its record will have, the pretrainings it uses (keys) and the record that
    already holds its result (None: not finished)."""

    index: int
    run: SuiteRun
    options: Any
    plan: Any
    jobs: tuple
    identity: str
    pretrainings: tuple[str, ...]
    record: Path | None

    @property
    def label(self) -> str:
        return self.run.label

    @property
    def finished(self) -> bool:
        return self.record is not None

    @property
    def started(self) -> bool:
        """Whether some of its work is done (a pretraining or an evaluation it uses)."""
        return any((job.pretraining is not None and job.pretraining.finished is not None)
                   or (job.request.work_dir / 'result.json').is_file() for job in self.jobs)


class SuitePlanError(HarnessError):
    """Runs of a suite that cannot run; ``problems`` holds one line per run."""

    def __init__(self, suite: Suite, problems: Sequence[str], total: int):
        self.problems = list(problems)
        super().__init__(f'{len(problems)} of the {total} runs of suite {suite.name} cannot run '
                         '(each named above); nothing was trained')


def data_roots(pm: PluginManager, suite: Suite, given: Mapping[str, str]) -> dict[str, str]:
    """The suite's ``data`` with ``--data`` over it; a name no run reads is an error (a typo
    would otherwise evaluate on the demo)."""
    roots = {**suite.data, **given}
    read = set()
    for run in suite.runs:
        read.add(run.options['eval'])
        try:
            read.add(pm.get('evaluator', run.options['eval']).info.dataset)
        except HarnessError:
            pass  # reported with the run when it is planned
        pretrain = run.options.get('pretrain_data')
        if pretrain:
            read.add(pretrain.partition('=')[0].strip())
        read.add(default_pretrain(pm, run.options))
    for name in roots:
        if name not in read:
            known = sorted(n for n in read if n)
            raise HarnessError(f"data {name}={roots[name]}: no run of suite {suite.name} reads "
                               f"dataset '{name}'; it reads {', '.join(known)}")
    return roots


def default_pretrain(pm: PluginManager, options: Mapping[str, Any]) -> str:
    """The pretraining set a run reads when it names none ('' for a run that does not pretrain):
    its method's or evaluator's demo pretraining set, else the evaluation dataset itself."""
    try:
        evaluator = pm.get('evaluator', options['eval']).info
        method = pm.get('method', options['method']).info if options.get('method') else None
    except HarnessError:
        return ''  # planning names the unknown component
    if method is None:
        return ''
    method = method.for_modality(evaluator.modality) or method
    if not method.pretrains_with(options.get('config')):
        return ''
    return method.demo_pretrain or evaluator.demo_pretrain or evaluator.dataset


def run_options(pm: PluginManager, run: SuiteRun, roots: Mapping[str, str], *, work_dir: Path,
                records_dir: Path, launcher: str, options_type: type):
    """The RunOptions of one run: its fields, the suite's folders, ``resume`` (an interrupted
    run continues), and the data roots: the evaluation data from ``roots`` by the evaluator's
    dataset (or the evaluator's name), a pretraining set named without a root given its root
    from ``roots`` (so is the one a pretraining run reads when it names none,
    :func:`default_pretrain`; without a root for it, a run on real evaluation data must name
    it, as with ``harness run``)."""
    from harness.suite.spec import required_fields

    fields = dict(run.options)
    for name in required_fields(options_type):  # e.g. no method for a run of weights
        fields.setdefault(name, None)
    if 'data' not in fields:
        dataset = fields['eval']
        try:
            dataset = pm.get('evaluator', fields['eval']).info.dataset
        except HarnessError:
            pass  # planning names the unknown evaluator
        root = roots.get(dataset, roots.get(fields['eval']))
        if root:
            fields['data'] = root
    pretrain = (fields.get('pretrain_data') or default_pretrain(pm, fields)).strip()
    if pretrain and '=' not in pretrain and pretrain in roots:
        fields['pretrain_data'] = f'{pretrain}={roots[pretrain]}'
    return options_type(**fields, work_dir=str(work_dir), records_dir=str(records_dir),
                        resume=True, launcher=launcher, dry_run=False)


def records_by_identity(records_dir: Path) -> dict[str, Path]:
    """``{identity: record file}`` of the records in ``records_dir`` (the first file by name
    for an identity held twice)."""
    from harness.results import read_record

    found: dict[str, Path] = {}
    if not records_dir.is_dir():
        return found
    for path in sorted(records_dir.glob('*.json')):
        try:
            identity = read_record(path).get('identity')
        except RecordError:
            continue  # not a record of this suite's; its runs will write their own
        if identity:
            found.setdefault(identity, path)
    return found


def said_once(messages: Sequence[tuple[str, str]]) -> list[str]:
    """Messages ``(run label, message)`` as lines, in the order first said, a message that
    several runs gave as one line: ``'LABEL: MESSAGE'``, ``'LABEL and N more runs: MESSAGE'``
    (a suite's runs that read the same data would otherwise repeat its warnings run by run)."""
    runs: dict[str, list[str]] = {}
    for label, message in messages:
        runs.setdefault(message, []).append(label)
    return [f'{labels[0]}: {message}' if len(labels) == 1 else
            f'{labels[0]} and {len(labels) - 1} more run{"s" * (len(labels) > 2)}: {message}'
            for message, labels in runs.items()]


def plan_suite(pm: PluginManager, suite: Suite, *, work_dir: Path, records_dir: Path,
               data: Mapping[str, str] = (), launcher: str = 'none', log: Log = print,
               options_type: type | None = None, check_data: bool = True) -> list[PlannedRun]:
    """Plan every run of ``suite``; raises :class:`SuitePlanError` listing every run that
    cannot run (one line each), having planned all of them. ``check_data``: a ``data`` name no
    run reads is an error (off for a job running part of a suite)."""
    from harness.identity import record_identity
    from harness.run import plan_run
    from harness.run.jobs import plan_jobs

    if options_type is None:
        from harness.run import RunOptions as options_type
    roots = data_roots(pm, suite, dict(data)) if check_data else {**suite.data, **dict(data)}
    planned, problems = [], []
    seen: dict[str, str] = {}
    messages: list[tuple[str, str]] = []  # (run, what its planning said), said at the end
    for index, run in enumerate(suite.runs):
        def quiet(message: str, label=run.label) -> None:
            messages.append((label, message))

        try:
            options = run_options(pm, run, roots, work_dir=work_dir, records_dir=records_dir,
                                  launcher=launcher, options_type=options_type)
            plan = plan_run(pm, options)
            jobs = tuple(plan_jobs(plan, quiet))
        except HarnessError as exc:
            problems.append(f"run '{run.label}': {exc}")
            continue
        identity = record_identity(job.key for job in jobs)
        if identity in seen:
            problems.append(f"run '{run.label}' is the same run as '{seen[identity]}' (the same "
                            'settings, so the same record); drop one')
            continue
        seen[identity] = run.label
        pretrainings = tuple(dict.fromkeys(job.pretraining.key for job in jobs
                                           if job.pretraining is not None))
        planned.append(PlannedRun(index, run, options, plan, jobs, identity, pretrainings, None))
    for line in said_once(messages):
        log(line)
    if problems:
        raise SuitePlanError(suite, problems, len(suite.runs))
    return with_records(planned, records_dir)


def with_records(planned: Sequence[PlannedRun], records_dir: Path) -> list[PlannedRun]:
    """``planned`` with the record of each finished run (found by its identity)."""
    found = records_by_identity(records_dir)
    return [replace(run, record=found.get(run.identity)) for run in planned]


def groups(planned: Sequence[PlannedRun]) -> list[list[PlannedRun]]:
    """The runs in groups that share a pretraining (directly or through another run), in suite
    order; a run without pretraining is a group of its own."""
    parent: dict[int, int] = {run.index: run.index for run in planned}

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[str, int] = {}
    for run in planned:
        for key in run.pretrainings:
            if key in owner:
                parent[root(run.index)] = root(owner[key])
            else:
                owner[key] = run.index
    found: dict[int, list[PlannedRun]] = {}
    for run in planned:
        found.setdefault(root(run.index), []).append(run)
    return list(found.values())
