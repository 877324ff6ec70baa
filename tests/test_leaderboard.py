"""Leaderboard markdown rendered from result records."""

import random

import pytest

from harness.errors import RecordError
from harness.leaderboard import DEMO_TITLE, is_current, render, render_markdown
from harness.results import dumps_record, read_record, record_id, write_record
from harness.schema import validate_record
from tests._records import as_schema_1, make_record, make_reported


def _demo(**overrides):
    return make_record(**{'data': 'demo', 'pretrain__data': 'demo',
                          'pretrain__dataset': 'demo-videos', 'method__name': 'demo-method',
                          **overrides})


def _table_rows(text, heading):
    """The body rows (cells) of the table under ``heading``."""
    lines = text.splitlines()
    start = lines.index(heading)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith('#'):
            break
        if line.startswith('| ') and not line.startswith('| Method'):
            rows.append([cell.strip() for cell in line.strip('|').split(' | ')])
    return rows


def test_demo_tables_say_what_one_test_item_is_worth():
    demo = _demo(eval__test_items={'split1': 30})
    text = render_markdown([demo, make_record(eval__test_items={'split1': 3783})])
    assert 'With 30 test items, one test item is worth 3.33 points' in text
    assert 'one test item is worth' not in text.split('# Demo data')[0]  # not under real data


def test_demo_records_only_in_demo_part():
    records = [make_record(), make_record(method__name='mvd', eval__protocol='linear'), _demo()]
    text = render_markdown(records)
    real_part, demo_part = text.split(DEMO_TITLE)
    assert 'demo-method' not in real_part
    assert 'demo-method' in demo_part
    assert 'videomae' not in demo_part and 'mvd' not in demo_part
    assert '## ucf101 / finetune' in real_part and '## ucf101 / linear' in real_part
    assert demo_part.count('## ucf101 / finetune') == 1


def test_no_demo_part_without_demo_records_and_placeholder_without_records():
    assert DEMO_TITLE not in render_markdown([make_record()])
    assert 'No results yet.' in render_markdown([])
    assert 'No results yet.' not in render_markdown([make_record()])


def test_row_order_reported_first_then_best_metric_then_method():
    records = [
        make_record(method__name='b-low', metrics__top1__value=70.0),
        make_record(method__name='z-high', metrics__top1__value=90.0),
        make_record(method__name='a-tie', metrics__top1__value=70.0),
        make_reported(method__name='paper', metrics__top1__value=50.0),
    ]
    rows = _table_rows(render_markdown(records), '## ucf101 / finetune')
    assert [row[0] for row in rows] == ['paper', 'z-high', 'a-tie', 'b-low']
    assert rows[0][-3] == 'reported [1]'
    assert '\n[1] Tong et al., NeurIPS 2022\n' in render_markdown(records)
    assert rows[1][-3] == 'reproduced'


def test_demo_rows_are_ordered_by_method_name_not_by_value():
    records = [_demo(method__name=name, metrics__top1__value=value)
               for name, value in (('b-low', 70.0), ('z-high', 90.0), ('a-mid', 80.0))]
    text = render_markdown(records)
    rows = _table_rows(text[text.index(DEMO_TITLE):], '## ucf101 / finetune')
    assert [row[0] for row in rows] == ['a-mid', 'b-low', 'z-high']


def test_lower_is_better_metric_sorts_ascending():
    loss = {'loss': {'value': 0.5, 'higher_is_better': False}}
    records = [make_record(method__name='worse', metrics={'loss': {**loss['loss'], 'value': 0.9}}),
               make_record(method__name='better', metrics=loss)]
    rows = _table_rows(render_markdown(records), '## ucf101 / finetune')
    assert [row[0] for row in rows] == ['better', 'worse']


def test_cells_format_metrics_clips_seeds_and_config():
    record = make_record(metrics={
        'top1': {'value': 81.25, 'std': 0.44, 'higher_is_better': True, 'unit': '%'},
        'auc': {'value': 0.912345, 'higher_is_better': True}}, seeds=[0, 1, 2],
        eval__test_items={'split1': 3783})
    text = render_markdown([record])
    assert '| Method | Backbone | Pretrain data | Split(s) | Clips x crops | Test items | auc | ' \
           'top1 | Source | Seed(s) | Config |' in text
    row = _table_rows(text, '## ucf101 / finetune')[0]
    assert row[4] == '5x3'
    assert row[5] == '3783'
    assert row[6] == '0.912'
    assert row[7] == '81.2 ± 0.4%'
    assert row[-2] == '0, 1, 2'
    assert row[-1] == '0123abcd'
    baseline = _table_rows(render_markdown([make_record(pretrain=None)]), '## ucf101 / finetune')
    assert baseline[0][-1] == '-'


def test_rendering_is_deterministic_and_order_independent():
    records = [make_record(method__name=f'm{i}', metrics__top1__value=float(i % 3))
               for i in range(8)] + [_demo(), make_reported()]
    # Same method and score: only the other fields can order these.
    records += [make_record(backbone__name=f'vit-{size}', seeds=[seed])
                for size in ('s16', 'b16') for seed in (0, 1)]
    expected = render_markdown(records)
    for seed in range(5):
        shuffled = list(records)
        random.Random(seed).shuffle(shuffled)
        assert render_markdown(shuffled) == expected
    assert render_markdown(records) == expected


def test_render_writes_only_when_changed_and_is_current_tracks_records(tmp_path):
    records_dir, output = tmp_path / 'records', tmp_path / 'LEADERBOARD.md'
    write_record(make_record(), records_dir)
    assert not is_current(records_dir, output)  # not rendered yet
    assert render(records_dir, output) is True
    assert is_current(records_dir, output)
    assert render(records_dir, output) is False
    write_record(make_record(method__name='mvd'), records_dir)
    assert not is_current(records_dir, output)
    assert render(records_dir, output) is True
    assert 'mvd' in output.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['LEADERBOARD.md', 'figures', 'records']


def test_reported_rows_sit_beside_reproduced_ones_with_numbered_citations():
    records = [make_record(), make_reported(metrics__top1__value=90.0),
               make_reported(variant='V/AF', citation='Recasens et al., ICCV 2021',
                             eval__clips=None, eval__crops=None),
               make_reported(method__name='other', citation='Tong et al., NeurIPS 2022'), _demo()]
    text = render_markdown(records)
    rows = _table_rows(text, '## ucf101 / finetune')
    assert [(row[0], row[-3]) for row in rows] == [
        ('videomae', 'reported [1]'), ('other', 'reported [1]'),
        ('videomae (V/AF)', 'reported [2]'), ('videomae', 'reproduced')]
    assert rows[2][4] == '?'  # clips x crops a paper does not state
    assert '[1] Tong et al., NeurIPS 2022  \n[2] Recasens et al., ICCV 2021\n' in text
    assert text.index('## ucf101 / finetune') < text.index(DEMO_TITLE)


def test_metric_columns_order_numbers_by_value():
    recalls = {f'R@{k}': {'value': float(k), 'higher_is_better': True} for k in (50, 5, 1, 20, 10)}
    text = render_markdown([make_record(metrics=recalls)])
    assert '| R@1 | R@5 | R@10 | R@20 | R@50 |' in text


def test_add_copies_a_valid_record_and_refuses_to_overwrite_a_different_one(tmp_path, capsys):
    import json

    from harness.cli import main
    from harness.results import dumps_record, record_id

    board = tmp_path / 'leaderboards' / 'records'
    board.mkdir(parents=True)
    run_dir = tmp_path / 'work' / 'records'
    run_dir.mkdir(parents=True)
    record = make_record()
    source = run_dir / 'r.json'
    source.write_text(dumps_record(record))
    target = board / f'{record_id(record)}.json'
    assert main(['leaderboard', 'add', str(source), '--records-dir', str(board)]) == 0
    assert target.read_text() == dumps_record(record) and '(added)' in capsys.readouterr().out
    assert main(['leaderboard', 'add', str(source), '--records-dir', str(board)]) == 0
    assert '(unchanged)' in capsys.readouterr().out
    changed = make_record(metrics={'top1': {'value': 1.0, 'higher_is_better': True}})
    source.write_text(dumps_record(changed))
    assert main(['leaderboard', 'add', str(source), '--records-dir', str(board)]) == 2
    err = capsys.readouterr().err
    assert 'already holds a different record' in err and '--replace' in err
    assert json.loads(target.read_text()) == record  # untouched
    assert main(['leaderboard', 'add', str(source), '--records-dir', str(board),
                 '--replace']) == 0
    assert json.loads(target.read_text()) == changed
    broken = run_dir / 'broken.json'
    broken.write_text('{"schema_version": 1}')
    assert main(['leaderboard', 'add', str(broken), '--records-dir', str(board)]) == 2
    assert 'broken.json' in capsys.readouterr().err


def test_a_pretraining_from_a_dirty_tree_marks_the_record_dirty_in_any_seed_or_split():
    from harness.leaderboard import is_dirty

    clean, dirty = ({'provenance': {'git_dirty': flag}} for flag in (False, True))
    assert not is_dirty(make_record())
    assert is_dirty(make_record(pretrain__per_split={'1': clean, '2': dirty}))
    assert is_dirty(make_record(pretrain__per_seed={'0': {'1': clean}, '1': {'1': dirty}}))
    assert not is_dirty(make_record(pretrain__per_seed={'0': {'1': clean}, '1': {'1': clean}}))


def test_a_schema_1_record_renders_as_it_did_and_is_added_as_schema_2(tmp_path, capsys):
    from harness.cli import main

    current = _demo(eval__test_items={'split1': 80},
                    eval__skipped_items={'split1': {'missing': 0, 'unreadable': 0}})
    records_dir, output = tmp_path / 'records', tmp_path / 'README.md'
    records_dir.mkdir()
    old = records_dir / f'{record_id(current)}.json'
    old.write_text(dumps_record(as_schema_1(current)))
    assert '"test_videos"' in old.read_text()
    assert render(records_dir, output) is True
    text = output.read_text()
    assert text == render_markdown([current])
    assert _table_rows(text, '## ucf101 / finetune')[0][5] == '80'
    assert 'With 80 test items, one test item is worth 1.25 points' in text
    assert is_current(records_dir, output)
    # `harness leaderboard add` of an old record writes it in the current schema
    board = tmp_path / 'board'
    board.mkdir()
    assert main(['leaderboard', 'add', str(old), '--records-dir', str(board)]) == 0
    added = board / old.name
    assert added.read_text() == dumps_record(current) and '"test_items"' in added.read_text()
    assert read_record(added) == current
    assert main(['leaderboard', 'render', '--records-dir', str(records_dir), '--output',
                 str(output), '--check']) == 0


def test_names_citations_and_metrics_render_as_text_never_as_markup():
    hostile = make_reported(
        method__name='<script>alert(1)</script>', backbone__name='r50 | injected',
        citation='See [here](javascript:alert(1)) <img src=x onerror=alert(1)>')
    text = render_markdown([hostile])
    assert '<script>' not in text and '<img' not in text and '](javascript' not in text
    assert '&lt;script&gt;alert(1)&lt;/script&gt;' in text
    assert 'r50 \\| injected' in text
    row = next(line for line in text.splitlines() if 'script' in line)
    header = next(line for line in text.splitlines() if line.startswith('| Method'))
    assert row.count(' | ') == header.count(' | ')  # the escaped | ends no cell
    assert '[here]\\(javascript:alert(1))' in text


def test_a_line_break_in_a_name_is_rejected_and_never_adds_a_heading():
    with pytest.raises(RecordError, match="field 'eval.name'"):
        validate_record(make_record(eval__name='ucf101\n## fake heading'))
    with pytest.raises(RecordError, match="field 'metrics"):
        validate_record(make_record(metrics={'top1\n# x': {'value': 1.0,
                                                            'higher_is_better': True}}))
    # rendering (records are validated before, but render defends itself too)
    text = render_markdown([make_record(eval__name='ucf101\n## fake heading')])
    assert '\n## fake heading' not in text
