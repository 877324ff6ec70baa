"""The nyuv2 evaluator: protocols ``normals`` and ``depth``, a dense probe
(:class:`~harness_nyueval.model.DenseProbe`) trained by mmengine's Runner on the official
train images and scored on the test images, pooled over every valid test pixel.

The protocol config is the Runner config without what the harness fills in: the model's
backbone, ``feat_dim``, ``task`` (the config's top-level ``task``: ``classify40`` or ``regress``
for normals, ``depth``), the codebook, the data preprocessor (from ``data_preprocessor``), the
data lists and the metric. For ``classify40`` the codebook is the dataset's ``vocab40.mat``, or
else a spherical k-means (k = 40, seed 0) of the train normals; the record says which, and
which ground truth the normals are (the dataset's ``SOURCE.txt``).
"""
from __future__ import annotations

import copy
import io
from pathlib import Path

import numpy as np
from mmengine.config import Config

from harness.api import EvalRequest, EvalResult
from harness.errors import ConfigError, DataError

#: protocol -> the tasks its configs may name, and the item field holding its targets
PROTOCOL_TASKS = {'normals': ('classify40', 'regress'), 'depth': ('depth',)}
#: the backbones DilatedBackbone brings to output stride 8 (ResNets named as torchvision's,
#: VGG-16)
DILATABLE = ('resnet18', 'resnet50', 'resnet18-slim', 'vgg16')
CODEBOOK_SIZE, CODEBOOK_SEED, CODEBOOK_PIXELS = 40, 0, 4000


def _lists(request: EvalRequest, split, kind: str) -> dict[str, tuple[Path, str]]:
    """side -> (list file, its text): ``image target`` per line, relative to the data root."""
    lists = request.work_dir.parent / 'lists'
    out = {}
    for side, items in (('train', split.train), ('test', split.test)):
        lacking = [item.index for item in items if not getattr(item, kind)]
        if lacking:
            raise DataError(f'{len(lacking)} of the {len(items)} {side} images of nyuv2 have no '
                            f'{kind} file (e.g. image {lacking[0]}): add them as harness data '
                            f'prepare nyuv2 says' + (', or use --protocol depth'
                                                     if kind == 'normals' else ''))
        out[side] = (lists / f'nyuv2_{kind}_{side}.txt',
                     ''.join(f'{item.path} {getattr(item, kind)}\n' for item in items))
    return out


def build_config(request: EvalRequest) -> tuple[Config, dict, str]:
    """``(config, files, task)``: the Runner config of the protocol for ``request``, the files
    it reads that the evaluator writes (path -> text, the codebook excepted) and its task."""
    from harness.config import load_eval_config, use_amp

    protocol = load_eval_config(request)
    cfg = copy.deepcopy(protocol.to_dict())
    task = cfg.pop('task', None)
    kind = request.protocol.name
    if task not in PROTOCOL_TASKS[kind]:
        raise ConfigError(f"evaluation config: task={task!r}: the {kind} protocol trains "
                          f"{' or '.join(PROTOCOL_TASKS[kind])}")
    if request.backbone.name not in DILATABLE:
        raise ConfigError(f"nyuv2 brings the backbone to output stride 8 by dilating its last "
                          f"stages; '{request.backbone.name}' is not one of "
                          f"{', '.join(DILATABLE)}: pick one with --backbone")
    lists = _lists(request, request.read_split(), kind)
    model = cfg['model']
    for key in ('backbone', 'feat_dim', 'task', 'codebook', 'data_preprocessor'):
        if model.get(key) is not None:
            raise ConfigError(f'evaluation config: model.{key}={model[key]!r}: the harness '
                              'sets it; leave it None')
    model.update(backbone=request.backbone_config(), feat_dim=request.backbone.feat_dim,
                 task=task, data_preprocessor=dict(type='harness.DensePreprocessor',
                                                   images=cfg.pop('data_preprocessor')))
    if task == 'classify40':
        model['codebook'] = str(codebook_file(request))
    for side in ('train', 'test'):
        dataset = cfg[f'{side}_dataloader']['dataset']
        dataset.update(ann_file=str(lists[side][0]), data_root=str(request.data_root))
        for step in dataset['pipeline']:
            if str(step.get('type', '')).split('.')[-1] == 'LoadDenseTarget':
                if step.get('kind') is not None:
                    raise ConfigError(f'evaluation config: {side}_dataloader: LoadDenseTarget '
                                      f"kind={step['kind']!r}: the harness sets it from the "
                                      'protocol; leave it None')
                step['kind'] = kind
    if cfg.get('test_evaluator') is not None:
        raise ConfigError("evaluation config: test_evaluator is the protocol's metric, set by "
                          'the harness; leave it None')
    cfg['test_evaluator'] = dict(type='harness.NormalsMetric' if kind == 'normals'
                                 else 'harness.DepthMetric')
    cfg['launcher'] = request.launcher
    imports = list(cfg.get('custom_imports', {}).get('imports', []))
    imports += [m for m in ('harness.weights', 'harness.hooks', *request.imports)
                if m not in imports]
    cfg['custom_imports'] = dict(imports=imports, allow_failed_imports=False)
    cfg['custom_hooks'] = list(cfg.get('custom_hooks', [])) + [
        dict(type='harness.ProgressBarHook', desc=kind)]
    files = {path: text for path, text in lists.values()}
    return use_amp(Config(cfg, filename=protocol.filename), request.amp), files, task


def codebook_file(request: EvalRequest) -> Path:
    """Where the classify40 codebook of this evaluation is kept (written by
    :func:`write_codebook` before training)."""
    return request.work_dir / 'codebook40.npy'


KMEANS_SOURCE = (f'spherical k-means of the train normals (k={CODEBOOK_SIZE}, seed '
                 f'{CODEBOOK_SEED}, up to {CODEBOOK_PIXELS} pixels an image)')


def codebook_source(request: EvalRequest) -> str:
    """Where the classify40 codebook comes from, for the record: the dataset's
    ``vocab40.mat``, or :data:`KMEANS_SOURCE`."""
    from harness_nyudata import nyuv2

    return nyuv2.VOCAB_FILE if (Path(request.data_root) / nyuv2.VOCAB_FILE).is_file() \
        else KMEANS_SOURCE


def write_codebook(request: EvalRequest, split) -> None:
    """Write the codebook (:func:`codebook_source`) to :func:`codebook_file`: the dataset's
    ``vocab40.mat``, or a spherical k-means of up to :data:`CODEBOOK_PIXELS` valid pixels of
    each train image's normals."""
    from harness.results import atomic_write_bytes
    from harness_nyudata import nyuv2
    from harness_nyueval.normals import kmeans_codebook

    vocab = nyuv2.load_vocab(request.data_root)
    if vocab is None:
        rng = np.random.default_rng(CODEBOOK_SEED)
        samples = []
        for item in split.train:
            normals, valid = nyuv2.load_normals(Path(request.data_root) / item.normals)
            pixels = normals[valid]
            take = rng.choice(len(pixels), min(len(pixels), CODEBOOK_PIXELS), replace=False)
            samples.append(pixels[take])
        vocab = kmeans_codebook(np.concatenate(samples), k=CODEBOOK_SIZE, seed=CODEBOOK_SEED)
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(vocab, dtype=np.float32))
    atomic_write_bytes(codebook_file(request), buffer.getvalue())


class NYUv2Evaluator:
    """Dense probes on NYUv2: surface normals (classify40 or regress) and depth."""

    def config(self, request: EvalRequest):
        return build_config(request)[0]

    def evaluate(self, request: EvalRequest) -> EvalResult:
        from mmengine.dist import is_main_process
        from mmengine.model import is_model_wrapper

        from harness.checks import check_config
        from harness.config import config_sha256, summarize
        from harness.engine import build_runner, main_process_first
        from harness.results import atomic_write_text
        from harness_nyudata import nyuv2
        from harness_nyueval import depth, normals

        cfg, files, task = build_config(request)
        check_config(cfg, 'evaluation config')
        sha = config_sha256(cfg)
        split = request.read_split()
        with main_process_first():  # the lists and the codebook, written once
            if is_main_process():
                for path, text in files.items():
                    atomic_write_text(path, text)
                if task == 'classify40':
                    write_codebook(request, split)
        settings = dict(task=task)
        if task == 'classify40':
            settings['codebook'] = codebook_source(request)
        settings['ground_truth'] = (nyuv2.normals_source(request.data_root)
                                    if request.protocol.name == 'normals'
                                    else 'depth (millimetre PNGs)')
        cfg.work_dir = str(request.work_dir)
        cfg.resume = request.resume
        cfg.experiment_name = request.protocol.name
        runner = build_runner(cfg)
        if is_main_process():
            print(f'[harness] nyuv2/{request.protocol.name} ({task}): {len(split.train)} train, '
                  f'{len(split.test)} test images; log: {runner.log_dir}', flush=True)
        runner.train()
        results = runner.test()
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        module = normals if request.protocol.name == 'normals' else depth
        prefix = 'normals' if request.protocol.name == 'normals' else 'depth'
        metrics = {name: round(float(results[f'{prefix}/{name}']), 3) for name in module.METRICS}
        return EvalResult(metrics=metrics, higher_is_better=dict(module.HIGHER_IS_BETTER),
                          units=dict(module.UNITS), splits=[request.split], clips=1, crops=1,
                          config_sha256=sha,
                          weights=model.backbone.weight_load_report,
                          settings=dict(summarize(cfg), freeze_backbone=bool(
                              cfg.model.get('freeze_backbone', True)), **settings))
