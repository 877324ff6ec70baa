"""The ``harness`` command line.

User errors (unknown names, missing data, malformed records) print one line and exit 2;
``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import harness
from harness.config import AMP_DTYPES
from harness.errors import HarnessError

EXIT_USAGE = 2
#: The leaderboard's records, relative to the directory the command runs in (the checkout).
DEFAULT_RECORDS = 'leaderboards/records'


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2, like every other user error."""

    def error(self, message: str):
        raise HarnessError(f'{self.prog}: {message} (see --help)')


def parse_cfg_options(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs; values parsed as Python/JSON literals when they parse."""
    import ast

    options = {}
    for item in items:
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise HarnessError(f"--cfg-options takes key=value pairs, got '{item}'")
        try:
            options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[key] = value
    return options


def parse_seed(text: str) -> int:
    """``--seed 3``: an integer numpy takes as a seed (:data:`harness.checks.SEED_MAX`)."""
    from harness.checks import seed_problem

    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer")
    problem = seed_problem(seed)
    if problem:
        raise argparse.ArgumentTypeError(f'{seed}: {problem}')
    return seed


def parse_seeds(text: str) -> tuple[int, ...]:
    """``--seeds 0,1,2`` as distinct integers numpy takes as seeds, in the order given."""
    try:
        seeds = tuple(int(part) for part in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"'{text}' names a seed twice")
    from harness.checks import seed_problem

    for seed in seeds:
        problem = seed_problem(seed)
        if problem:
            raise argparse.ArgumentTypeError(f'{seed}: {problem}')
    return seeds


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog='harness', description=__doc__.splitlines()[0])
    parser.add_argument('--version', action='store_true', help='print versions and plugins')
    parser.add_argument('-p', dest='plugins', action='append', default=[], metavar='NAME',
                        help="'no:NAME' blocks plugin NAME; a module path loads it explicitly")
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    sub = parser.add_subparsers(dest='command', parser_class=ArgumentParser)

    run = sub.add_parser('run', help='pretrain a method and evaluate it')
    run.add_argument('--method', required=True)
    run.add_argument('--eval', required=True, dest='eval')
    run.add_argument('--backbone', help="default: the method's default backbone")
    run.add_argument('--config', metavar='NAME|PATH',
                     help="the method's pretraining config: a name 'harness list' shows "
                          "(default 'demo'; 'paper': the paper's sizes and schedule) or a file")
    run.add_argument('--pretrain-data', metavar='NAME[=ROOT]',
                     help='the pretraining set: a dataset name (kinetics400, ucf101, hmdb51, '
                          'videofolder, ...) and its root, or =demo; default with demo '
                          'evaluation data: the demo kinetics400. The evaluation dataset itself '
                          'pretrains each split on its own train list')
    add_evaluation_options(run, pretrains=True)

    evaluate = sub.add_parser('eval', help='evaluate weights made elsewhere (a checkpoint file)')
    evaluate.add_argument('--weights', required=True, metavar='PATH',
                          help='a torch checkpoint (read with weights_only=True) or a '
                               '.safetensors file')
    evaluate.add_argument('--backbone', required=True,
                          help="the registered backbone the weights are for ('harness list')")
    evaluate.add_argument('--eval', required=True, dest='eval')
    evaluate.add_argument('--weights-prefix', metavar='PREFIX',
                          help='take the tensors whose (dotted, containers included) keys '
                               "start with PREFIX, e.g. 'state_dict.module.encoder_q.'; "
                               'default: the prefix that fills every backbone tensor')
    evaluate.add_argument('--name', metavar='LABEL',
                          help="the row's name in the record and leaderboard (default: the "
                               'file name)')
    evaluate.add_argument('--supervised', action='store_true',
                          help='the weights were trained with labels (a comparison row)')
    add_evaluation_options(evaluate, pretrains=False)

    sub.add_parser('list', help='methods, backbones and evaluators with their protocols')
    sub.add_parser('plugins', help='installed plugins as JSON')
    validate = sub.add_parser(
        'validate', help='check that installed plugins conform: a pass/fail table, exit 1 on '
                         'a failure')
    validate.add_argument('names', nargs='*', metavar='PLUGIN',
                          help="plugin names 'harness plugins' shows (default: all)")
    validate.add_argument('--skip-smoke', action='store_true',
                          help="skip the 2-iteration training of each method's demo config "
                               '(the slow part)')
    validate.add_argument('--work-dir', help='where the smoke runs and their demo data go '
                                             '(default: a temporary folder, removed after)')

    data = sub.add_parser('data', help='datasets')
    data_sub = data.add_subparsers(dest='data_command', required=True,
                                   parser_class=ArgumentParser)
    demo = data_sub.add_parser('demo', help='write a demo dataset in the official layout')
    demo.add_argument('--dataset', default='ucf101',
                      help="a dataset name 'harness list' shows (default ucf101)")
    demo.add_argument('--root', help='default: WORK_DIR/demo/DATASET')
    demo.add_argument('--work-dir', default='work_dirs')
    prepare = data_sub.add_parser(
        'prepare', help="write the annotation lists mmaction2 reads (every official split)")
    prepare.add_argument('dataset', metavar='DATASET', help="a dataset name 'harness list' shows")
    prepare.add_argument('--root', required=True, help='the dataset in its official layout')
    prepare.add_argument('--out', help='default: ROOT/annotations')

    board = sub.add_parser('leaderboard', help='leaderboards')
    board_sub = board.add_subparsers(dest='board_command', required=True,
                                     parser_class=ArgumentParser)
    render = board_sub.add_parser('render', help='regenerate leaderboards/README.md')
    render.add_argument('--records-dir', default=DEFAULT_RECORDS,
                        help=f'default: {DEFAULT_RECORDS} (run from the checkout root)')
    render.add_argument('--output', help='default: README.md beside the records directory')
    render.add_argument('--check', action='store_true',
                        help='exit 1 if the markdown is stale, write nothing')
    add = board_sub.add_parser('add', help='validate records and copy them into the '
                                           'leaderboard records')
    add.add_argument('records', nargs='+', metavar='RECORD', help='record JSON files')
    add.add_argument('--records-dir', default=DEFAULT_RECORDS,
                     help=f'default: {DEFAULT_RECORDS} (run from the checkout root)')
    add.add_argument('--replace', action='store_true',
                     help='replace a different record with the same id')

    from harness.suite.commands import add_parser as add_suite_parser

    add_suite_parser(sub, ArgumentParser)
    return parser


def add_evaluation_options(parser: ArgumentParser, *, pretrains: bool) -> None:
    """The options ``harness run`` and ``harness eval`` share: protocol, configs, data, splits,
    seeds, folders, resume, launcher, precision, dry run. ``pretrains``: whether the command
    pretrains (what --amp, --deterministic and --cfg-options then reach too)."""
    parser.add_argument('--protocol', help="default: the evaluator's first protocol")
    parser.add_argument('--eval-config', metavar='NAME|PATH',
                        help="the protocol's config: a name 'harness list' shows (default "
                             "'demo') or a file")
    parser.add_argument('--data', default='demo',
                        help="evaluation dataset root in its official layout, or 'demo' "
                             '(default)')
    parser.add_argument('--amp', choices=AMP_DTYPES,
                        help="train with mixed precision (mmengine's AmpOptimWrapper; needs a "
                             'GPU): ' + ('pretraining and ' if pretrains else '') +
                             'the finetune protocol; recorded as the precision')
    parser.add_argument('--deterministic', action='store_true',
                        help="PyTorch's deterministic algorithms for the " +
                             ('pretraining and the ' if pretrains else '') + 'finetune '
                             '(mmengine randomness.deterministic; slower); recorded')
    parser.add_argument('--dry-run', action='store_true',
                        help='resolve everything, print the merged configs and the planned '
                             'work, train nothing')
    parser.add_argument('--split', default=None,
                        help="an official split (default: the evaluator's first, e.g. 1 for "
                             "ucf101, val for imagenet), or 'all': every split, recorded with "
                             'each value, the mean and the std')
    parser.add_argument('--work-dir', default='work_dirs')
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument('--seed', type=parse_seed, default=None,
                       help="default: the evaluation config's seeds (a paper config may name "
                            'several, e.g. the 5 trials of a detection protocol), else 0')
    seeds.add_argument('--seeds', type=parse_seeds, metavar='S,S,...',
                       help=('run everything once per seed (e.g. 0,1,2)' if pretrains else
                             'evaluate once per seed (e.g. 0,1,2)') +
                            ": one record with each seed's value, the mean and the sample std")
    parser.add_argument('--resume', action='store_true',
                        help='continue an interrupted run from its last checkpoint')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help=("override config keys; 'eval.KEY=V' targets the evaluation "
                              'config' if pretrains else
                              'override keys of the evaluation config (eval.KEY=V as well)') +
                             '; a key the config lacks is an error unless written +KEY=V')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--records-dir', help='where the result record goes (default: '
                                              'WORK_DIR/records)')
    parser.add_argument('--max-unreadable', type=float, default=0.05, metavar='FRACTION',
                        help='unreadable items (videos, images) are skipped and counted; above '
                             'this fraction of a split the run stops (default 0.05)')


def _plugin_manager(args):
    """The plugins ``-p`` leaves; a run refuses to start while one of them implements a hook
    that does not exist (the listings report it as that plugin's load error instead)."""
    from harness.plugins import PluginManager

    pm = PluginManager(args.plugins)
    if args.command in ('run', 'eval'):
        pm.check_hooks()
    return pm


def cmd_version(args) -> int:
    from harness.mmcv_ops import mmcv_ops_line

    pm = _plugin_manager(args)
    print(f'harness {harness.__version__}')
    print(mmcv_ops_line())
    for plugin in pm.plugins:
        status = f'  ERROR: {plugin.error}' if plugin.error else ''
        print(f'  {plugin.name}: {plugin.distribution or plugin.module} '
              f'{plugin.version or ""}{status}'.rstrip())
    return 0


def _configs(configs) -> str:
    return f" (configs: {', '.join(configs)})" if configs else ''


def _unverified(configs, indent: str) -> None:
    """Print the settings of each config whose value is a guess (its sources table)."""
    from harness.api import resolve_config
    from harness.sources import unverified_settings

    for name, ref in configs.items():
        guesses = unverified_settings(resolve_config(ref))
        if guesses:
            print(f"{indent}{name}: unverified settings: {', '.join(guesses)}")


def cmd_list(args) -> int:
    pm = _plugin_manager(args)
    components = pm.components
    print('methods:')
    for name, entry in sorted(components['method'].items()):
        info = entry.info
        only = f" (backbones: {', '.join(info.backbones)})" if info.backbones else ''
        reads = f'; pretrains on {info.reads}' if info.reads else ''
        print(f'  {name:<14} [{", ".join(info.kinds)}{reads}] {info.summary}'
              f'{_configs(info.configs)}{only}')
        for variant in (info, *info.also):
            _unverified(variant.configs, ' ' * 18)
    print('backbones:')
    for name, entry in sorted(components['backbone'].items()):
        print(f'  {name:<14} [{entry.info.modality}] {entry.info.summary}')
    print('evaluators:')
    for name, entry in sorted(components['evaluator'].items()):
        print(f'  {name:<14} [{entry.info.modality}] {entry.info.summary}; data: '
              f'{entry.info.dataset}; protocols:')
        for p in entry.info.protocols:
            print(f'    {p.name} (v{p.version}){_configs(p.configs)}')
            _unverified(p.configs, ' ' * 6)
    print('datasets:')
    for name, entry in sorted(components['dataset'].items()):
        print(f'  {name:<14} [{entry.info.modality}] {entry.info.summary}')
    errors = pm.load_errors()
    for plugin in errors:
        print(f'plugin {plugin.name} failed to load: {plugin.error}', file=sys.stderr)
    return 0


def cmd_plugins(args) -> int:
    pm = _plugin_manager(args)
    pm.load_errors()
    print(json.dumps([p.as_json() for p in pm.plugins], indent=2))
    return 0


def cmd_validate(args) -> int:
    """One row per check and plugin (:mod:`harness.conformance`), printed as each finishes;
    exit 1 when a row failed."""
    from harness.conformance import select_plugins, validate

    pm = _plugin_manager(args)
    plugins = select_plugins(pm, args.names)  # an unknown name: one line, exit 2
    widths = (max([len('plugin'), *(len(p.name) for p in plugins)]), 34)
    print(f"{'plugin':<{widths[0]}}  {'check':<{widths[1]}}  result  reason")
    failed = total = 0
    work_dir = Path(args.work_dir).expanduser() if args.work_dir else None
    for row in validate(pm, [p.name for p in plugins], smoke=not args.skip_smoke,
                        work_dir=work_dir):
        total += 1
        failed += not row.passed
        result = 'PASS  ' if row.passed else 'FAIL  '
        print(f'{row.plugin:<{widths[0]}}  {row.check:<{widths[1]}}  {result}  '
              f'{row.reason}'.rstrip(), flush=True)
    print(f'{total - failed} passed, {failed} failed'
          + (' (smoke runs skipped)' if args.skip_smoke else ''))
    return 1 if failed else 0


def cmd_run(args) -> int:
    return run_and_report(args, method=args.method, config=args.config,
                          pretrain_data=args.pretrain_data)


def evaluation_cfg_options(items: Sequence[str]) -> dict[str, Any]:
    """``harness eval``'s ``--cfg-options``: every key is the evaluation config's (written
    with or without ``eval.``)."""
    from harness.config import EVAL_PREFIX, NEW_KEY

    options = {}
    for key, value in parse_cfg_options(items).items():
        new = key.startswith(NEW_KEY)
        bare = key[len(NEW_KEY):] if new else key
        bare = bare if bare.startswith(EVAL_PREFIX) else EVAL_PREFIX + bare
        options[NEW_KEY * new + bare] = value
    return options


def cmd_eval(args) -> int:
    return run_and_report(args, method=None, weights=args.weights,
                          weights_prefix=args.weights_prefix, name=args.name,
                          supervised=args.supervised,
                          cfg_options=evaluation_cfg_options(args.cfg_options))


def run_and_report(args, *, cfg_options: dict[str, Any] | None = None, **what: Any) -> int:
    """``harness run`` and ``harness eval``: plan, execute (one sequence,
    :mod:`harness.run`), print the metrics and the record's path. ``what``: the
    :class:`~harness.run.RunOptions` fields that differ between the two."""
    from mmengine.dist import is_main_process

    from harness.engine import use_fast_paths
    from harness.run import RunOptions, execute, plan_run

    use_fast_paths()  # before any thread or worker starts: they inherit them

    pm = _plugin_manager(args)
    if cfg_options is None:
        cfg_options = parse_cfg_options(args.cfg_options)
    if args.deterministic:  # the key every pretraining and finetune config has
        cfg_options.update({'randomness.deterministic': True,
                            'eval.randomness.deterministic': True} if what.get('method') else
                           {'eval.randomness.deterministic': True})
    options = RunOptions(eval=args.eval, backbone=args.backbone,
                         protocol=args.protocol, data=args.data, split=args.split,
                         work_dir=args.work_dir, seeds=args.seeds or (
                             (args.seed,) if args.seed is not None else None),
                         resume=args.resume, launcher=args.launcher, cfg_options=cfg_options,
                         records_dir=args.records_dir, max_unreadable=args.max_unreadable,
                         eval_config=args.eval_config, dry_run=args.dry_run, amp=args.amp,
                         **what)
    plan = plan_run(pm, options)
    main_process = is_main_process()  # a distributed run reports once

    def log(message: str) -> None:
        if main_process:
            print(f'[harness] {message}', flush=True)

    record, path = execute(pm, plan, log=log)
    if record is None or not main_process:
        return 0
    label = ' (DEMO data: not comparable to papers)' if record['data'] == 'demo' else ''
    for name, metric in record['metrics'].items():
        unit = metric.get('unit', '')
        spread = ''
        if 'std' in metric:
            over, values = ('seeds', metric['per_seed']) if 'per_seed' in metric else \
                ('splits', metric['per_split'])
            listed = ', '.join(f'{key}: {value}' for key, value in values.items())
            spread = f" ± {metric['std']}{unit} (mean of {over} {listed})"
        print(f"{name}: {metric['value']}{unit}{spread}{label}")
    print(f'record: {path}')
    return 0


def cmd_data_prepare(args) -> int:
    """``DATASET_{train,val}_split<k>_videos.txt`` for every split: ``path label`` lines,
    paths relative to the root (mmaction2 VideoDataset with ``data_prefix`` = the root). A
    dataset module with its own ``prepare(root)`` (detection layouts, which mmdet reads as they
    are) only checks the layout and prints its counts."""
    from harness.data.readable import NOUNS
    from harness.io import atomic_write_text

    info = _plugin_manager(args).get('dataset', args.dataset).info
    module, noun = info.module(), NOUNS.get(info.modality, 'items')
    root = Path(args.root).expanduser()
    if not root.is_dir():
        raise HarnessError(f'{root} does not exist; point --root at a {args.dataset} '
                           'dataset in its official layout')
    if hasattr(module, 'prepare'):  # a layout its evaluators read as it is: checked, counted
        for line in module.prepare(root):
            print(line)
        return 0
    out = Path(args.out).expanduser() if args.out else root / 'annotations'
    splits = [module.read_split(root, k) for k in module.SPLITS]  # all read before any write
    for split in splits:
        for side, items in (('train', split.train), ('val', split.test)):
            path = out / f'{args.dataset}_{side}_split{split.name}_videos.txt'
            atomic_write_text(path, ''.join(f'{i.path} {i.label}\n' for i in items))
            print(f'{path}: {len(items)} {noun}, {len(split.classes)} classes '
                  f'({split.missing} listed {noun} of split {split.name} missing on disk)')
    return 0


def cmd_data(args) -> int:
    from harness import data as datasets

    if args.data_command == 'prepare':
        return cmd_data_prepare(args)
    module = _plugin_manager(args).get('dataset', args.dataset).info.module()
    root = Path(args.root) if args.root else datasets.demo_root(args.work_dir, args.dataset)
    module.generate_demo(root)
    print(f'demo {args.dataset} dataset at {root}')
    return 0


def records_dir(option: str) -> Path:
    """``--records-dir`` of the leaderboard commands; it must exist."""
    records = Path(option).expanduser()
    if not records.is_dir():
        raise HarnessError(f'--records-dir {records} is not a folder; run from the checkout '
                           'root or point --records-dir at the leaderboard records')
    return records


def cmd_leaderboard(args) -> int:
    from harness import leaderboard

    records = records_dir(args.records_dir)
    if args.board_command == 'add':
        for source in args.records:
            target, state = leaderboard.add_record(Path(source), records, replace=args.replace)
            print(f'{source} -> {target} ({state})')
        print("regenerate the markdown with 'harness leaderboard render'")
        return 0
    output = Path(args.output) if args.output else records.parent / 'README.md'
    if args.check:
        if leaderboard.is_current(records, output):
            print(f'{output} is up to date')
            return 0
        print(f"{output} is stale: run 'harness leaderboard render'", file=sys.stderr)
        return 1
    changed = leaderboard.render(records, output)
    figures = output.parent / leaderboard.FIGURES
    print(f"{output} and {figures}/ {'regenerated' if changed else 'already up to date'}")
    return 0


def cmd_suite(args) -> int:
    from harness.suite.commands import main as suite_main

    return suite_main(args)


COMMANDS = {'run': cmd_run, 'eval': cmd_eval, 'list': cmd_list, 'plugins': cmd_plugins,
            'data': cmd_data, 'leaderboard': cmd_leaderboard, 'validate': cmd_validate,
            'suite': cmd_suite}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = '--debug' in argv
    try:
        args = build_parser().parse_args(argv)
        if args.version:
            return cmd_version(args)
        if not args.command:
            raise HarnessError("no command given; try 'harness list' or 'harness run --help'")
        return COMMANDS[args.command](args)
    except HarnessError as exc:
        if debug:
            raise
        print(f'harness: error: {exc}', file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. 'harness list | head'
        sys.stderr.close()
        return 0
    except OSError as exc:  # the environment (a full disk, a folder gone): one line
        if debug:
            raise
        print(f'harness: error: {exc} (--debug shows where)', file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print('harness: interrupted; rerun with --resume to continue', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
