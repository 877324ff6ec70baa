"""The result record: schema validation, ids, atomic writing and reading (docs/design.md §4)."""

import json

import pytest

from harness.errors import RecordError
from harness.results import read_record, read_records, record_id, write_record
from harness.schema import SCHEMA_VERSION, upgrade_record, validate_record
from tests._records import as_schema_1, make_record, make_reported


def test_valid_reproduced_and_reported_records_pass():
    reproduced = make_record()
    assert validate_record(reproduced) is reproduced
    validate_record(make_reported())
    validate_record(make_record(pretrain=None))  # random-init baseline: no pretraining
    validate_record(make_record(extra_top_level_field={'future': True}))


def _without(record, *path):
    target = record
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return record


@pytest.mark.parametrize('record, field', [
    (_without(make_record(), 'metrics'), 'metrics'),
    (make_record(metrics={}), 'metrics'),
    (make_record(eval__protocol=5), 'eval.protocol'),
    (make_record(data='mixed'), 'data'),
    (_without(make_reported(), 'citation'), 'citation'),
    (make_reported(citation=''), 'citation'),
    (make_record(pretrain__files_sha256='abc123'), 'pretrain.files_sha256'),
    (make_record(pretrain__config_sha256='A' * 64), 'pretrain.config_sha256'),
    (make_record(metrics={'top1': {'value': 81.0, 'higher_is_better': True, 'colour': 'red'}}),
     'metrics.top1.colour'),
    (make_record(metrics__top1__value='81.0'), 'metrics.top1.value'),
    (make_record(seeds=[]), 'seeds'),
    (make_record(seeds=[0, 'one']), 'seeds[1]'),
    (make_record(eval__splits=[]), 'eval.splits'),
    (make_record(eval__clips=0), 'eval.clips'),
    (_without(make_record(), 'provenance'), 'provenance'),
    (make_record(pretrain={'dataset': 'kinetics400', 'note': 'loose form is for reported rows'}),
     'pretrain.data'),
    (make_record(citation='A paper'), 'citation'),
    (make_record(schema_version=1), 'schema_version'),
    (make_record(schema_version=3), 'schema_version'),
    (make_record(eval__test_videos={'split1': 30}), 'eval.test_videos'),
    (make_record(pretrain__num_videos=9537), 'pretrain.num_videos'),
    (_without(make_record(), 'pretrain', 'num_items'), 'pretrain.num_items'),
    (make_record(pretrain__data='demo'), 'pretrain.data'),
    (make_record(metrics__top1__value=float('nan')), 'metrics.top1.value'),
])
def test_malformed_record_names_file_and_field(record, field):
    with pytest.raises(RecordError) as info:
        validate_record(record, source='leaderboards/records/x.json')
    message = str(info.value)
    assert message.startswith('leaderboards/records/x.json: ')
    assert f"field '{field}'" in message
    assert '\n' not in message


def test_error_message_shows_the_offending_value():
    with pytest.raises(RecordError, match=r"field 'eval\.protocol': 5 is not of type 'string'"):
        validate_record(make_record(eval__protocol=5), source='x.json')


def test_record_id_is_descriptive_and_filename_safe():
    assert record_id(make_record(seeds=[0, 1, 2])) == \
        'videomae__vit-s16__pt-ucf101__ucf101-finetune-splitsplit1__real__seed0-1-2'
    assert record_id(make_reported()).endswith('__reported')
    odd = record_id(make_record(method__name='my method/v2', eval__protocol='linear:probe'))
    assert odd == 'my-method-v2__vit-s16__pt-ucf101__ucf101-linear-probe-splitsplit1__real__seed0'
    assert '__pt-none__' in record_id(make_record(pretrain=None))
    assert 'split1-2-3' in record_id(make_record(eval__splits=['1', '2', '3']))
    assert record_id(make_reported(variant='V/AF')).startswith('videomae-V-AF__vit-s16__')
    demo = make_record(pretrain__config='demo', eval__config='demo')
    assert record_id(demo) == record_id(make_record())  # demo configs leave the id as it was
    paper = record_id(make_record(pretrain__config='paper', eval__config='/x/my_eval.py'))
    assert paper.endswith('__cfg-paper-my_eval')


def test_write_record_round_trips_and_leaves_no_temp_files(tmp_path):
    directory = tmp_path / 'records'  # created by write_record
    record = make_record()
    path, state = write_record(record, directory)
    assert (path, state) == (directory / f'{record_id(record)}.json', 'written')
    assert read_record(path) == record
    text = path.read_text()
    assert text.endswith('}\n') and text == json.dumps(record, indent=2, sort_keys=True) + '\n'
    assert [p.name for p in directory.iterdir()] == [path.name]


def test_the_identity_ends_the_id_so_different_settings_never_share_a_file(tmp_path):
    k5, k20 = make_record(identity='a' * 64), make_record(identity='b' * 64)
    assert record_id(k5) == record_id(make_record()) + '__aaaaaaaaaa'
    assert write_record(k5, tmp_path)[1] == write_record(k20, tmp_path)[1] == 'written'
    assert len(list(tmp_path.iterdir())) == 2
    with pytest.raises(RecordError, match="field 'identity'"):
        validate_record(make_record(identity='not a hash'))


def test_write_record_never_replaces_another_result(tmp_path):
    first, state = write_record(make_record(), tmp_path)
    again = make_record(provenance__started_at='2031-01-01T00:00:00+00:00')
    assert write_record(again, tmp_path) == (first, 'unchanged')  # same metrics: kept as it was
    assert read_record(first) == make_record()
    other, state = write_record(make_record(metrics__top1__value=90.0), tmp_path)
    assert state == 'beside' and other.name == f'{record_id(make_record())}__2.json'
    assert read_record(first)['metrics']['top1']['value'] != 90.0
    assert write_record(make_record(metrics__top1__value=90.0), tmp_path) == (other, 'unchanged')
    third, _ = write_record(make_record(metrics__top1__value=1.0), tmp_path)
    assert third.name.endswith('__3.json') and len(list(tmp_path.iterdir())) == 3


def test_concurrent_writers_of_one_id_keep_every_result(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    records = [make_record(metrics__top1__value=float(v)) for v in (1, 2, 1, 3, 2, 1)]
    with ThreadPoolExecutor(6) as pool:
        states = list(pool.map(lambda r: write_record(r, tmp_path)[1], records))
    assert sorted(states) == ['beside', 'beside', 'unchanged', 'unchanged', 'unchanged',
                              'written']
    kept = sorted(read_record(p)['metrics']['top1']['value'] for p in tmp_path.iterdir())
    assert kept == [1.0, 2.0, 3.0]


def test_write_record_rejects_invalid_record_and_writes_nothing(tmp_path):
    with pytest.raises(RecordError, match=r"field 'data'"):
        write_record(make_record(data='mixed'), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_file_and_no_temp_file(tmp_path, monkeypatch):
    def broken_fsync(fd):
        raise OSError('disk full')

    monkeypatch.setattr('harness.io.os.fsync', broken_fsync)
    with pytest.raises(OSError):
        write_record(make_record(metrics__top1__value=1.0), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_read_record_names_the_file_on_bad_json(tmp_path):
    path = tmp_path / 'broken.json'
    path.write_text('{"schema_version": 1,')
    with pytest.raises(RecordError, match=r'broken\.json: invalid JSON'):
        read_record(path)


def test_read_record_names_file_and_field_on_schema_failure(tmp_path):
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(make_record(eval__protocol=5)))
    with pytest.raises(RecordError, match=r"bad\.json: field 'eval\.protocol'"):
        read_record(path)


def test_read_record_rejects_nan(tmp_path):
    path = tmp_path / 'nan.json'
    path.write_text(json.dumps(make_record()).replace('81.25', 'NaN'))
    with pytest.raises(RecordError, match=r'nan\.json'):
        read_record(path)


def test_read_records_sorted_by_filename_and_missing_dir_is_empty(tmp_path):
    assert read_records(tmp_path / 'nowhere') == []
    write_record(make_record(method__name='zeta'), tmp_path)
    write_record(make_record(method__name='alpha'), tmp_path)
    (tmp_path / 'notes.txt').write_text('not a record')
    assert [r['method']['name'] for r in read_records(tmp_path)] == ['alpha', 'zeta']


def _with_item_counts(record):
    """``record`` with every field schema 2 renamed: test and skipped items, and a pretraining
    per seed with its own item counts."""
    block = {key: record['pretrain'][key] for key in ('dataset', 'data', 'split', 'num_items')}
    block['skipped_items'] = {'missing': 4, 'unreadable': 0}
    record['eval'].update(test_items={'split1': 30},
                          skipped_items={'split1': {'missing': 1, 'unreadable': 2}})
    record['pretrain'].update(skipped_items={'missing': 4, 'unreadable': 0},
                              per_seed={'0': {'split1': block}, '1': {'split1': dict(block)}})
    return record


def test_a_schema_1_record_is_upgraded_on_read(tmp_path):
    current = _with_item_counts(make_record(seeds=[0, 1]))
    old = as_schema_1(current)
    assert old['schema_version'] == 1 and 'test_videos' in old['eval']
    assert 'num_videos' in old['pretrain']['per_seed']['1']['split1']
    path = tmp_path / 'old.json'
    path.write_text(json.dumps(old))
    assert SCHEMA_VERSION == 2
    assert read_record(path) == current
    assert json.loads(path.read_text()) == old  # reading leaves the file as it is
    assert read_records(tmp_path) == [current]


def test_upgrade_record_copies_a_schema_1_record_and_leaves_others_alone():
    current = _with_item_counts(make_record())
    old = as_schema_1(current)
    before = json.dumps(old, sort_keys=True)
    assert upgrade_record(old) == current
    assert json.dumps(old, sort_keys=True) == before  # the input is not changed
    assert upgrade_record(current) is current
    for odd in ([], {'schema_version': 1}, {'schema_version': 1, 'eval': 5, 'pretrain': None}):
        upgrade_record(odd)  # malformed records are left to validation


def test_only_the_current_schema_is_written(tmp_path):
    with pytest.raises(RecordError, match=r"field 'eval\.test_videos': renamed to "
                                          r"'eval\.test_items' in schema version 2"):
        write_record(as_schema_1(_with_item_counts(make_record())), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_schema_1_record_with_a_renamed_key_also_under_its_new_name_is_refused(tmp_path):
    old = as_schema_1(make_record())
    old['pretrain']['num_items'] = 1
    path = tmp_path / 'both.json'
    path.write_text(json.dumps(old))
    with pytest.raises(RecordError, match=r"both\.json: field 'pretrain\.num_videos'"):
        read_record(path)


def test_a_backbone_cut_by_its_pretraining_config_is_recorded_as_such():
    """The record of a run whose pretraining config cut the backbone (backbone_stage) names
    the cut backbone, the registered one it came from and where it ends; the load report may
    name the modules that kept their initialisation."""
    from harness.api import BackboneInfo
    from harness.run.record import backbone_entry

    info = BackboneInfo('resnet50', '', 'image', {'type': 'harness.ResNet50'}, 2048,
                        stages={'layer3': 1024, 'layer4': 2048})
    entry = {'name': 'resnet50', 'distribution': 'd', 'version': '1'}
    assert backbone_entry(entry, info) == entry
    cut = info.up_to('layer3')
    recorded = backbone_entry(dict(entry, name=cut.name), cut)
    assert recorded == {'name': 'resnet50-to-layer3', 'distribution': 'd', 'version': '1',
                        'cut_from': 'resnet50', 'out_stage': 'layer3'}
    record = make_record()
    record['backbone'] = recorded
    record['eval']['weights']['missing_modules'] = ['head']
    validate_record(record)
    assert '__resnet50-to-layer3__' in record_id(record)
