"""``harness data prepare`` and ``harness data demo`` through the CLI, on the layouts of the
videodata plugin (harness_videodata.hmdb51, harness_videodata.ucf101)."""
from __future__ import annotations

from pathlib import Path


from harness.cli import main
from harness_videodata import hmdb51, ucf101


def _lines(path: Path) -> list[tuple[str, int]]:
    out = []
    for line in path.read_text().splitlines():
        video, label = line.split(' ')
        out.append((video, int(label)))
    return out


def test_data_prepare_ucf101(small_demo, tmp_path):
    out = tmp_path / 'lists'
    assert main(['data', 'prepare', 'ucf101', '--root', str(small_demo), '--out', str(out)]) == 0
    for k in '123':
        split = ucf101.read_split(small_demo, k)
        train = _lines(out / f'ucf101_train_split{k}_videos.txt')
        assert train == [(i.path, i.label) for i in split.train] and len(train) == 20
        assert len(_lines(out / f'ucf101_val_split{k}_videos.txt')) == len(split.test) == 20
        for video, _ in train:
            assert (small_demo / video).is_file()


def test_data_demo_hmdb51(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(hmdb51, 'generate_demo', lambda root, **kw: calls.append(root) or root)
    assert main(['data', 'demo', '--dataset', 'hmdb51', '--work-dir', str(tmp_path)]) == 0
    assert calls == [tmp_path / 'demo' / 'hmdb51']
    assert 'demo hmdb51 dataset' in capsys.readouterr().out
