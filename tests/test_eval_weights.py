"""``harness eval --weights``: checkpoints made elsewhere, in the layouts other codebases write,
load into the harness backbone with every tensor in place (the evaluator sees the features the
original network computes), and a file that does not fit fails in one line, exit 2."""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pytest
import torch

from harness import external
from harness.api import DatasetInfo, EvalRequest, ProtocolInfo
from harness.cli import main
from harness.plugins import PluginManager
from harness.registry import MODELS

from tests.test_cli import error_line


@pytest.fixture(scope='module')
def pm():
    return PluginManager([])


def backbone_info(pm, name):
    return pm.get('backbone', name).info


def evaluator_backbone(info, weights_path: Path, tmp_path: Path) -> torch.nn.Module:
    """The backbone as an evaluator builds it (EvalRequest.backbone_config: the weights through
    harness.SSLPretrained), in eval mode."""
    request = EvalRequest(protocol=ProtocolInfo('knn', '1', 'x'), backbone=info,
                          backbone_weights=weights_path,
                          dataset=DatasetInfo('imagenet', '', 'image', 'x'),
                          data_root=tmp_path, work_dir=tmp_path, split='val', seed=0)
    model = MODELS.build(request.backbone_config())
    model.init_weights()
    return model.eval()


def fixed_input(size: int = 64) -> torch.Tensor:
    return torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(7))


def torchvision_resnet50() -> tuple[dict, torch.nn.Module]:
    """A random torchvision resnet50's state dict (its fc included) and the network up to
    layer4, the reference features."""
    from torchvision.models import resnet50

    torch.manual_seed(1)
    net = resnet50(weights=None).eval()
    return net.state_dict(), torch.nn.Sequential(*list(net.children())[:-2]).eval()


def timm_vit_s16() -> tuple[dict, callable]:
    import timm

    torch.manual_seed(2)
    net = timm.create_model('vit_small_patch16_224', pretrained=False).eval()

    def features(x):
        tokens = net.forward_features(x)[:, net.num_prefix_tokens:]
        side = x.shape[-1] // 16
        return tokens.transpose(1, 2).reshape(len(x), net.embed_dim, side, side)

    return net.state_dict(), features


def slim_mmdet() -> tuple[dict, torch.nn.Module]:
    """An mmdet ResNet-18 at quarter width (the harness resnet18-slim's network)."""
    from mmdet.models.backbones import ResNet

    torch.manual_seed(3)
    net = ResNet(depth=18, base_channels=16, stem_channels=16, style='pytorch',
                 norm_eval=False)
    net.eval()  # mmdet's ResNet.train returns None
    return net.state_dict(), lambda x: net(x)[-1]


def write_moco(path: Path) -> tuple[str, callable, dict]:
    """MoCo v2's layout: state_dict -> module.encoder_q.* (and its key encoder, queue and
    MLP head beside it)."""
    state, reference = torchvision_resnet50()
    other, _ = torchvision_resnet50()
    sd = {f'module.encoder_q.{k}': v for k, v in state.items() if not k.startswith('fc.')}
    sd.update({f'module.encoder_k.{k}': v.clone() for k, v in other.items()
               if not k.startswith('fc.')})
    sd.update({'module.encoder_q.fc.0.weight': torch.zeros(2048, 2048),
               'module.encoder_q.fc.2.weight': torch.zeros(128, 2048),
               'module.queue': torch.zeros(128, 16)})
    torch.save({'epoch': 800, 'arch': 'resnet50', 'state_dict': sd,
                'optimizer': {'param_groups': [{'lr': 0.03}]}}, path)
    return 'resnet50', reference, {'container': 'state_dict',
                                   'strip': 'state_dict.module.encoder_q.', 'add': '',
                                   'convention': 'none'}


def write_torchvision(path: Path):
    state, reference = torchvision_resnet50()
    torch.save(state, path)
    return 'resnet50', reference, {'container': '', 'strip': '', 'add': '',
                                            'convention': 'none'}


def write_timm(path: Path):
    state, reference = timm_vit_s16()
    torch.save(state, path)
    return 'vit-s16', reference, {'container': '', 'strip': '', 'add': 'vit.',
                                          'convention': 'none'}


def write_safetensors(path: Path):
    from safetensors.torch import save_file

    state, reference = slim_mmdet()
    save_file({f'backbone.{k}': v.contiguous() for k, v in state.items()}, str(path))
    return 'resnet18-slim', reference, {'container': '', 'strip': 'backbone.', 'add': 'net.',
                                                'convention': 'none'}


def to_mmpretrain(key: str) -> str:
    """A timm ViT key under mmpretrain's VisionTransformer names (the reverse of what
    mmpretrain's own vit converter does)."""
    if key.startswith('norm.'):
        return 'ln1.' + key[len('norm.'):]
    key = key.replace('patch_embed.proj.', 'patch_embed.projection.')
    if key.startswith('blocks.'):
        key = 'layers.' + key[len('blocks.'):]
        key = key.replace('.norm1.', '.ln1.').replace('.norm2.', '.ln2.')
        key = key.replace('.mlp.fc1.', '.ffn.layers.0.0.').replace('.mlp.fc2.', '.ffn.layers.1.')
    return key


def write_mmpretrain_vit(path: Path):
    """An mmpretrain/mmselfsup checkpoint of a ViT-S/16: meta, state_dict -> backbone.* under
    mmpretrain's names, a head."""
    state, reference = timm_vit_s16()
    sd = {f'backbone.{to_mmpretrain(k)}': v for k, v in state.items() if not k.startswith('head')}
    sd['head.layers.head.weight'] = state['head.weight']
    torch.save({'meta': {'epoch': 300}, 'state_dict': sd}, path)
    return 'vit-s16', reference, {'container': 'state_dict', 'strip': 'state_dict.backbone.',
                                  'add': 'vit.', 'convention': 'mmpretrain-vit'}


LAYOUTS = {'moco_v2_800ep_pretrain.pth.tar': write_moco, 'resnet50-tv.pth': write_torchvision,
           'vit_small_patch16_224.pth': write_timm, 'slim.safetensors': write_safetensors,
           'mmpretrain_vit-small.pth': write_mmpretrain_vit}


@pytest.mark.parametrize('name', list(LAYOUTS))
def test_each_layout_loads_every_backbone_tensor_and_gives_the_original_features(
        pm, tmp_path, name):
    path = tmp_path / name
    backbone, reference, mapping = LAYOUTS[name](path)
    info = backbone_info(pm, backbone)
    weights = external.prepare(path, info, tmp_path / 'work')
    total = len(external.target_tensors(info))
    assert weights.report['loaded'] == total and weights.report['missing'] == 0
    assert weights.report['shape_mismatched'] == 0
    assert weights.record()['mapping'] == mapping
    assert weights.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert weights.size == path.stat().st_size
    model = evaluator_backbone(info, weights.backbone_path, tmp_path)
    assert model.weight_load_report['loaded'] == model.weight_load_report['total'] == total
    assert model.weight_load_report['unexpected'] == []
    x = fixed_input(224 if backbone == 'vit-s16' else 64)
    assert set(mapping) == set(weights.record()['mapping'])
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0)


def test_classifier_and_other_tensors_are_reported_not_loaded(pm, tmp_path):
    path = tmp_path / 'moco.pth.tar'
    write_moco(path)
    weights = external.prepare(path, backbone_info(pm, 'resnet50'), tmp_path / 'work')
    # the key encoder (318 tensors), the two head layers and the queue
    assert weights.report['unexpected'] == 318 + 3


def test_two_complete_copies_are_a_tie_that_weights_prefix_settles(pm, tmp_path):
    state, reference = torchvision_resnet50()
    path = tmp_path / 'two.pth'
    torch.save({'a': state, 'b': {k: v + 1 for k, v in state.items()}}, path)
    info = backbone_info(pm, 'resnet50')
    with pytest.raises(external.WeightsFileError) as error:
        external.prepare(path, info, tmp_path / 'work')
    message = str(error.value)
    assert "several key mappings fill every resnet50 tensor: 'a.' (318/318), 'b.' (318/318)" \
        in message and '--weights-prefix PREFIX' in message
    weights = external.prepare(path, info, tmp_path / 'work', prefix='a.')
    assert weights.strip == 'a.' and weights.container == 'a'
    model = evaluator_backbone(info, weights.backbone_path, tmp_path)
    x = fixed_input()
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0)


# ------------------------------------------------------------------------------ the command


def eval_args(data: Path, work: Path, weights: Path, backbone: str, *extra: str) -> list[str]:
    return ['eval', '--weights', str(weights), '--backbone', backbone, '--eval', 'imagenet',
            '--protocol', 'knn', '--data', str(data), '--work-dir', str(work), *extra]


def shuffled(path: Path) -> None:
    """A torchvision resnet50 file whose tensors were dealt to the wrong keys."""
    state, _ = torchvision_resnet50()
    keys = list(state)
    order = torch.randperm(len(keys), generator=torch.Generator().manual_seed(0)).tolist()
    torch.save({key: state[keys[i]] for key, i in zip(keys, order)}, path)


def truncated(path: Path) -> None:
    state, _ = torchvision_resnet50()
    torch.save(state, path)
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def needs_code(path: Path) -> None:
    torch.save({'state_dict': {}, 'args': argparse.Namespace(lr=0.1)}, path)


def wrong_backbone(path: Path) -> None:
    from torchvision.models import resnet18

    torch.save(resnet18(weights=None).state_dict(), path)


@pytest.mark.parametrize('make,expected', [
    (shuffled, "no key mapping fills every resnet50 tensor (best fills "),
    (truncated, 'not a readable torch checkpoint (PytorchStreamReader failed reading zip '
                'archive'),
    (needs_code, 'a pickle that needs code to load ('),
    (wrong_backbone, 'no key mapping fills every resnet50 tensor (best fills '),
])
def test_a_file_that_does_not_fit_fails_in_one_line_exit_2(small_image_demo, tmp_path, capsys,
                                                           make, expected):
    path = tmp_path / 'bad.pth'
    make(path)
    assert main(eval_args(small_image_demo, tmp_path / 'work', path, 'resnet50')) == 2
    line = error_line(capsys)
    assert line.startswith(f'harness: error: --weights {path}: {expected}'), line
    if make in (shuffled, wrong_backbone):
        assert line.endswith('choose the prefix to strip with --weights-prefix PREFIX, or '
                             'check --backbone')
    assert not (tmp_path / 'work' / 'records').exists() or \
        not any((tmp_path / 'work' / 'records').iterdir())
    assert not (tmp_path / 'work' / 'eval').exists()


def test_wrong_backbone_names_how_much_fits(small_image_demo, tmp_path, capsys):
    path = tmp_path / 'r18.pth'
    wrong_backbone(path)
    assert main(eval_args(small_image_demo, tmp_path / 'work', path, 'resnet50')) == 2
    line = error_line(capsys)
    # resnet18's stem and first stage have resnet50's shapes; the rest does not fit
    assert ', 23 of another shape, e.g. missing layer1.0.bn3.bias' in line
    assert "candidates (prefix stripped, tensors filled): '' (97/318); choose" in line


def test_harness_eval_on_demo_data_writes_an_external_record(small_image_demo, tmp_path,
                                                             capsys):
    from harness.leaderboard import render_markdown
    from harness.results import read_records

    path = tmp_path / 'slim.safetensors'
    write_safetensors(path)
    work = tmp_path / 'work'
    assert main(eval_args(small_image_demo, work, path, 'resnet18-slim', '--name', 'mine',
                          '--supervised')) == 0
    out = capsys.readouterr().out
    assert 'top1: ' in out
    (record,) = read_records(work / 'records')
    assert record['method'] == {'name': 'mine', 'distribution': 'external',
                                'version': hashlib.sha256(path.read_bytes()).hexdigest()[:12]}
    assert record['pretrain'] is None and record['backbone']['name'] == 'resnet18-slim'
    assert record['external_weights'] == {
        'file': 'slim.safetensors', 'sha256': hashlib.sha256(path.read_bytes()).hexdigest(),
        'size': path.stat().st_size,
        'mapping': {'container': '', 'strip': 'backbone.', 'add': 'net.',
                                                'convention': 'none'},
        'load': {'loaded': 120, 'total': 120, 'missing': 0, 'unexpected': 0,
                 'shape_mismatched': 0},
        'supervised': True}
    assert record['eval']['weights']['loaded'] == record['eval']['weights']['total'] == 120
    (written,) = (work / 'records').glob('*.json')
    assert written.name.startswith('mine__resnet18-slim__pt-external__imagenet-knn-splitval__')
    board = render_markdown([record])
    assert '### External weights (`harness eval`' in board
    row = next(line for line in board.splitlines() if line.startswith('| mine'))
    assert row.startswith('| mine (supervised)') and \
        f"external: slim.safetensors ({record['external_weights']['sha256'][:8]})" in row
    # --resume reuses the finished evaluation of the same file and keeps the record
    assert main(eval_args(small_image_demo, work, path, 'resnet18-slim', '--name', 'mine',
                          '--supervised', '--resume')) == 0
    out = capsys.readouterr().out
    assert 'split val: finished evaluation reused from ' in out
    assert 'already holds this result (same settings, same metrics): kept as it was' in out
    assert len(list((work / 'records').glob('*.json'))) == 1


def test_dry_run_maps_but_writes_nothing(small_image_demo, tmp_path, capsys):
    path = tmp_path / 'tv.pth'
    write_torchvision(path)
    work = tmp_path / 'work'
    assert main(eval_args(small_image_demo, work, path, 'resnet50', '--dry-run')) == 0
    out = capsys.readouterr().out
    assert 'dry run: external weights tv.pth' in out and '318/318 resnet50 tensors' in out
    assert not (work / 'weights').exists() and not (work / 'records').exists()


@pytest.mark.parametrize('option', ['knn.k=abc', 'eval.knn.k=abc'])
def test_cfg_options_reach_the_evaluation_config_with_or_without_eval(
        small_image_demo, tmp_path, capsys, option):
    path = tmp_path / 'slim.safetensors'
    write_safetensors(path)
    work = tmp_path / 'work'
    assert main(eval_args(small_image_demo, work, path, 'resnet18-slim', '--cfg-options',
                          option)) == 2
    assert error_line(capsys).endswith("knn.k='abc': must be a positive integer")
    assert not (work / 'eval').exists()


def test_seeds_give_one_record_with_each_seeds_value(small_image_demo, tmp_path, capsys):
    from harness.results import read_records

    path = tmp_path / 'slim.safetensors'
    write_safetensors(path)
    work = tmp_path / 'work'
    assert main(eval_args(small_image_demo, work, path, 'resnet18-slim', '--seeds', '0,1')) == 0
    (record,) = read_records(work / 'records')
    assert record['seeds'] == [0, 1]
    assert set(record['metrics']['top1']['per_seed']) == {'0', '1'}


# ------------------------------------------------------------------------ record and board


EXTERNAL = {'file': 'moco_v2_800ep_pretrain.pth.tar', 'sha256': 'e' * 64, 'size': 1000,
            'mapping': {'container': 'state_dict', 'strip': 'state_dict.module.encoder_q.',
                        'add': '', 'convention': 'none'},
            'load': {'loaded': 318, 'total': 318, 'missing': 0, 'unexpected': 321,
                     'shape_mismatched': 0},
            'supervised': False}


def external_record(**changes):
    from tests._records import make_record

    record = make_record(pretrain=None, method={'name': 'moco-v2-800ep',
                                                'distribution': 'external',
                                                'version': 'e' * 12})
    record['external_weights'] = dict(EXTERNAL, **changes)
    return record


def test_the_schema_types_external_weights():
    from harness.errors import RecordError
    from harness.schema import validate_record

    validate_record(external_record())
    with pytest.raises(RecordError, match="field 'external_weights.sha256': 'x' is not a "
                                          'sha256'):
        validate_record(external_record(sha256='x'))
    with pytest.raises(RecordError, match="field 'external_weights.mapping': is required but "
                                          'missing'):
        record = external_record()
        del record['external_weights']['mapping']
        validate_record(record)
    with pytest.raises(RecordError, match="field 'external_weights.load.loaded': -1 is less "
                                          'than the minimum of 0'):
        validate_record(external_record(load=dict(EXTERNAL['load'], loaded=-1)))


def test_the_board_shows_external_rows_apart_and_leaves_the_others_as_they_were():
    from harness.leaderboard import EXTERNAL_TITLE, render_markdown
    from harness.results import record_id
    from tests._records import make_record

    own = make_record()
    alone = render_markdown([own]).splitlines()
    both = render_markdown([own, external_record(supervised=True)]).splitlines()
    figure = next(i for i, line in enumerate(alone) if line.startswith('!['))
    # the harness's table as it was, then the external table, then the figure's link
    assert both[:figure - 1] == alone[:figure - 1]
    assert both[figure - 1:figure + 1] == ['', EXTERNAL_TITLE]
    assert both[figure + 4].startswith('| moco-v2-800ep (supervised) | vit-s16 | external: '
                                       'moco_v2_800ep_pretrain.pth.tar (eeeeeeee) |')
    assert both[figure + 5:] == alone[figure - 1:]
    assert record_id(external_record()).startswith('moco-v2-800ep__vit-s16__pt-external__')


def test_a_safetensors_file_under_another_suffix_is_read_as_one(pm, tmp_path):
    from safetensors.torch import save_file

    state, _ = torchvision_resnet50()
    path = tmp_path / 'weights.bin'
    save_file(state, str(path))
    weights = external.prepare(path, backbone_info(pm, 'resnet50'), tmp_path / 'work')
    assert (weights.report['loaded'], weights.report['unexpected']) == (318, 2)  # fc.*


def test_a_truncated_safetensors_file_is_one_line(small_image_demo, tmp_path, capsys):
    path = tmp_path / 'cut.safetensors'
    write_safetensors(path)
    path.write_bytes(path.read_bytes()[:1000])
    assert main(eval_args(small_image_demo, tmp_path / 'work', path, 'resnet18-slim')) == 2
    assert error_line(capsys) == (f'harness: error: --weights {path}: not a readable '
                                  'safetensors file (Error while deserializing header: '
                                  'invalid header length)')


def test_a_label_that_is_not_one_line_is_refused_before_anything_runs(tmp_path, capsys):
    assert main(['eval', '--weights', str(tmp_path / 'w.pth'), '--backbone', 'resnet50',
                 '--eval', 'imagenet', '--name', 'a\nb', '--work-dir', str(tmp_path)]) == 2
    assert error_line(capsys) == ("harness: error: --name 'a\\nb': give a label on one line "
                                  '(it names the row in the record and on the leaderboard)')
