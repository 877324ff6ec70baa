"""One figure per leaderboard table, rendered with the markdown and linked under its table."""

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.leaderboard import figure_name, is_current, render
from harness.leaderboard_figures import KINDS, SEED_LABEL
from harness.results import write_record
from tests._records import make_record, make_reported

HARNESS = Path(__file__).resolve().parent.parent / 'harness'


def _demo(method, **overrides):
    per_seed = overrides.pop('per_seed', {'0': 30.0, '1': 35.0, '2': 40.0})
    return make_record(**{'data': 'demo', 'pretrain__data': 'demo', 'method__name': method,
                          'eval__name': 'imagenet', 'eval__protocol': 'knn', 'seeds': [0, 1, 2],
                          'metrics': {'top1': {'value': 35.0, 'std': 4.08, 'per_seed': per_seed,
                                               'higher_is_better': True, 'unit': '%'}},
                          **overrides})


def _board(tmp_path):
    """A small board: a demo table with a reference row, a real table with a reported row."""
    records = tmp_path / 'records'
    demo = [_demo('simclr'), _demo('random', variant='bn_calibrated', pretrain=None,
                                   per_seed={'0': 20.0, '1': 21.0, '2': 25.0})]
    real = [make_record(), make_reported(method__name='transrank', metrics__top1__value=90.7)]
    paths = [write_record(record, records)[0] for record in demo + real]
    return records, tmp_path / 'README.md', paths[:len(demo)]


def _texts(svg: Path) -> str:
    """All text of an SVG file, which must parse as XML."""
    return ' '.join(ET.parse(svg).getroot().itertext())


def test_render_writes_one_svg_per_table_linked_under_it(tmp_path):
    records, output, _ = _board(tmp_path)
    assert render(records, output) is True
    figures = tmp_path / 'figures'
    assert sorted(p.name for p in figures.iterdir()) == ['demo-imagenet-knn.svg',
                                                         'real-ucf101-finetune.svg']
    demo = _texts(figures / 'demo-imagenet-knn.svg')
    real = _texts(figures / 'real-ucf101-finetune.svg')
    assert 'simclr · vit-s16' in demo and 'random (bn_calibrated) · vit-s16' in demo
    assert KINDS['reference']['label'] in demo and SEED_LABEL in demo
    assert 'videomae · vit-s16' in real and 'transrank · vit-s16' in real
    assert KINDS['reported']['label'] in real and KINDS['reference']['label'] not in real
    assert 'top1 (%), higher is better' in real
    # reference and reported rows are drawn in their own colours
    assert KINDS['reference']['color'] in (figures / 'demo-imagenet-knn.svg').read_text()
    assert KINDS['reported']['color'] in (figures / 'real-ucf101-finetune.svg').read_text()
    # each link sits under its own table, before the next heading
    lines = output.read_text().splitlines()
    for heading, figure in (('## ucf101 / finetune', 'real-ucf101-finetune.svg'),
                            ('## imagenet / knn', 'demo-imagenet-knn.svg')):
        start = lines.index(heading)
        section = lines[start + 1:next((i for i in range(start + 1, len(lines))
                                        if lines[i].startswith('#')), len(lines))]
        links = [line for line in section if line.startswith('![')]
        assert len(links) == 1 and links[0].endswith(f'](figures/{figure})')
        assert section.index(links[0]) > max(i for i, line in enumerate(section)
                                             if line.startswith('|'))
    assert is_current(records, output)


def test_rerendering_is_byte_identical_and_a_gone_table_loses_its_figure(tmp_path):
    records, output, demo_paths = _board(tmp_path)
    render(records, output)
    figures = tmp_path / 'figures'
    before = {p.name: p.read_bytes() for p in figures.iterdir()}
    assert render(records, output) is False
    assert {p.name: p.read_bytes() for p in figures.iterdir()} == before
    (figures / 'demo-imagenet-knn.svg').unlink()
    assert not is_current(records, output)
    assert render(records, output) is True
    assert {p.name: p.read_bytes() for p in figures.iterdir()} == before
    for path in demo_paths:
        path.unlink()
    assert render(records, output) is True
    assert [p.name for p in figures.iterdir()] == ['real-ucf101-finetune.svg']
    assert 'demo-imagenet-knn.svg' not in output.read_text()
    for path in records.iterdir():
        path.unlink()
    render(records, output)
    assert not figures.exists()


def test_figure_names_are_stable_and_safe():
    assert figure_name('demo', 'imagenet', 'knn') == 'demo-imagenet-knn.svg'
    assert figure_name('real', 'ucf101', 'finetune') == 'real-ucf101-finetune.svg'
    assert figure_name('real', 'imagenet', 'logistic-1pct') == 'real-imagenet-logistic-1pct.svg'
    odd = figure_name('real', '../x y', 'a b')
    assert '/' not in odd and ' ' not in odd and odd.count('-') == 2
    assert odd != figure_name('real', '../x_y', 'a b')
    # the eval name holds no '-' of its own, so the split between it and the protocol is known
    assert figure_name('real', 'a-b', 'c') != figure_name('real', 'a', 'b-c')


def test_only_the_figure_module_imports_matplotlib_and_only_when_drawing():
    for path in sorted(HARNESS.rglob('*.py')):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ''] if isinstance(node, ast.ImportFrom) else [])
            if any(name.partition('.')[0] == 'matplotlib' for name in names):
                assert path.name == 'leaderboard_figures.py', path
                assert node not in tree.body, f'{path}: matplotlib imported at module level'
