"""The nyuv2 protocols ``normals`` and ``depth``: a dense probe
(:class:`~harness_nyueval.model.DenseProbe`) trained by mmengine's Runner on the official
train images and scored on the test images, pooled over every valid test pixel.

The protocol config is the Runner config without what :meth:`DenseProtocol.fill` fills in: the
model's backbone, ``feat_dim``, ``task`` (the config's top-level ``task``: ``classify40`` or ``regress``
for normals, ``depth``), the codebook, the data preprocessor (from ``data_preprocessor``), the
data lists and the metric. For ``classify40`` the codebook is the dataset's ``vocab40.mat``, or
else a spherical k-means (k = 40, seed 0) of the train normals; the record says which, and
which ground truth the normals are (the dataset's ``SOURCE.txt``).

Every target the run reads, train and test, is checked when the evaluation is prepared (before
anything is trained; headers only, :func:`harness_nyudata.nyuv2.target_problem`): an image
whose target would stop the run (a normals file without ``depthValid``, a depth PNG of another
size than its image) is left out and counted, per side, in the record's
``eval.skipped_targets`` and in the log line of the evaluation.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from harness.api import (EvalRequest, ConfigError, DataError, Filled, RunnerProtocol, boolean,
                         integer, integer_list, number, one_of)
from harness_nyueval import depth, normals

#: protocol -> the tasks its configs may name, and the item field holding its targets
PROTOCOL_TASKS = {'normals': ('classify40', 'regress'), 'depth': ('depth',)}
#: the backbones DilatedBackbone brings to output stride 8 (ResNets named as torchvision's,
#: VGG-16)
DILATABLE = ('resnet18', 'resnet50', 'resnet18-slim', 'vgg16')
CODEBOOK_SIZE, CODEBOOK_SEED, CODEBOOK_PIXELS = 40, 0, 4000


def _lists(request: EvalRequest, split, kind: str) -> dict[str, tuple[Path, str]]:
    """side -> (list file, its text): ``image target`` per line, relative to the data root."""
    out = {}
    for side, items in (('train', split.train), ('test', split.test)):
        lacking = [item.index for item in items if not getattr(item, kind)]
        if lacking:
            raise DataError(f'{len(lacking)} of the {len(items)} {side} images of nyuv2 have no '
                            f'{kind} file (e.g. image {lacking[0]}): add them as harness data '
                            f'prepare nyuv2 says' + (', or use --protocol depth'
                                                     if kind == 'normals' else ''))
        out[side] = (request.lists / f'nyuv2_{kind}_{side}.txt',
                     ''.join(f'{item.path} {getattr(item, kind)}\n' for item in items))
    return out


def usable_targets(request: EvalRequest, split, kind: str) -> tuple[Any, dict[str, int], str]:
    """``split`` without the items whose ``kind`` target would stop the run
    (:func:`harness_nyudata.nyuv2.target_problem`: checked now, before training, for every
    split the run reads), how many each side left out, and one example ('' when none). A side
    left without items is a one-line DataError."""
    from dataclasses import replace

    from harness_nyudata import nyuv2

    kept, skipped, example = {}, {}, ''
    for side, items in (('train', split.train), ('test', split.test)):
        good = []
        for item in items:
            problem = nyuv2.target_problem(request.data_root, item, kind) \
                if getattr(item, kind) else None  # (absent: _lists says so)
            if problem is None:
                good.append(item)
            else:
                example = example or problem
        if items and not good:
            raise DataError(f'none of the {len(items)} {side} {kind} targets of nyuv2 at '
                            f'{request.data_root} can be read (e.g. {example}): rewrite them '
                            'with harness data prepare nyuv2')
        kept[side], skipped[side] = tuple(good), len(items) - len(good)
    return replace(split, train=kept['train'], test=kept['test']), skipped, example


class DenseProtocol(RunnerProtocol):
    """A dense probe on NYUv2 (``kind``: 'normals' or 'depth'), pooled metrics of every valid
    test pixel (``module``: :mod:`harness_nyueval.normals` or :mod:`harness_nyueval.depth`)."""

    kind = ''
    module: Any = None
    #: the model's own keys (the rest of the model is built once during planning)
    keys = {'model.freeze_backbone': boolean(required=False),
            'model.norm_eval': boolean(required=False),
            'model.output_stride': one_of(8, 16, required=False),
            'model.head.channels': integer(1, required=False),
            'model.head.pool_scales': integer_list(1, required=False),
            'model.head.dropout': number(at_least=0, below=1, required=False)}

    def model_to_check(self, cfg: Any) -> Mapping | None:
        """The model with a stand-in codebook: the real one is written when the run starts."""
        model = cfg.get('model')
        if isinstance(model, Mapping) and isinstance(model.get('codebook'), str):
            model = dict(model, codebook=np.eye(CODEBOOK_SIZE, 3, dtype=np.float32).tolist())
        return model

    def fill(self, cfg: dict, request: EvalRequest) -> Filled:
        from harness_nyudata import nyuv2

        kind = self.kind
        task = cfg.pop('task', None)
        if task not in PROTOCOL_TASKS[kind]:
            raise ConfigError(f"evaluation config: task={task!r}: the {kind} protocol trains "
                              f"{' or '.join(PROTOCOL_TASKS[kind])}")
        if request.backbone.registered_name not in DILATABLE or \
                request.backbone.out_stage not in ('', 'layer3'):
            raise ConfigError(f"nyuv2 brings the backbone to output stride 8 by dilating its "
                              f"last stages; '{request.backbone.name}' is not one of "
                              f"{', '.join(DILATABLE)} (whole, or a ResNet cut after layer3): "
                              'pick one with --backbone')
        split, skipped, example = usable_targets(request, request.read_split(), kind)
        lists = _lists(request, split, kind)
        model = cfg['model']
        for key in ('backbone', 'feat_dim', 'task', 'codebook', 'data_preprocessor'):
            if model.get(key) is not None:
                raise ConfigError(f'evaluation config: model.{key}={model[key]!r}: the harness '
                                  'sets it; leave it None')
        model.update(backbone=request.backbone_config(), feat_dim=request.backbone.feat_dim,
                     task=task, data_preprocessor=dict(type='harness.DensePreprocessor',
                                                       images=cfg.pop('data_preprocessor')))
        files = {path: text for path, text in lists.values()}
        settings = dict(freeze_backbone=bool(model.get('freeze_backbone', True)), task=task)
        if task == 'classify40':
            model['codebook'] = str(codebook_file(request))
            files[codebook_file(request)] = lambda: codebook_bytes(request, split)
            settings['codebook'] = codebook_source(request)
        settings['ground_truth'] = (nyuv2.normals_source(request.data_root)
                                    if kind == 'normals' else 'depth (millimetre PNGs)')
        settings['skipped_targets'] = skipped
        for side in ('train', 'test'):
            dataset = cfg[f'{side}_dataloader']['dataset']
            dataset.update(ann_file=str(lists[side][0]), data_root=str(request.data_root))
            for step in dataset['pipeline']:
                if str(step.get('type', '')).split('.')[-1] == 'LoadDenseTarget':
                    if step.get('kind') is not None:
                        raise ConfigError(f'evaluation config: {side}_dataloader: '
                                          f"LoadDenseTarget kind={step['kind']!r}: the harness "
                                          'sets it from the protocol; leave it None')
                    step['kind'] = kind
        if cfg.get('test_evaluator') is not None:
            raise ConfigError("evaluation config: test_evaluator is the protocol's metric, set "
                              'by the harness; leave it None')
        cfg['test_evaluator'] = dict(type='harness.NormalsMetric' if kind == 'normals'
                                     else 'harness.DepthMetric')
        left_out = (f"; skipped {skipped['train']} train and {skipped['test']} test images "
                    f'whose {kind} target cannot be used (e.g. {example})'
                    if any(skipped.values()) else '')
        return Filled(files=files, settings=settings,
                      note=f'{task}: {len(split.train)} train, {len(split.test)} test images'
                           f'{left_out}')

    def scores(self, metrics: Mapping[str, Any], request: EvalRequest, cfg: Any
               ) -> dict[str, float]:
        return {name: round(float(metrics[f'{self.kind}/{name}']), 3)
                for name in self.module.METRICS}


class Normals(DenseProtocol):
    """Surface normals: classify40 (a 40-normal codebook) or regress; angular errors."""

    kind, module = 'normals', normals
    units, higher_is_better = dict(normals.UNITS), dict(normals.HIGHER_IS_BETTER)


class Depth(DenseProtocol):
    """Depth: delta < 1.25, abs-rel and RMSE."""

    kind, module = 'depth', depth
    units, higher_is_better = dict(depth.UNITS), dict(depth.HIGHER_IS_BETTER)


def codebook_file(request: EvalRequest) -> Path:
    """Where the classify40 codebook of this evaluation is kept (written before training)."""
    return request.work_dir / 'codebook40.npy'


KMEANS_SOURCE = (f'spherical k-means of the train normals (k={CODEBOOK_SIZE}, seed '
                 f'{CODEBOOK_SEED}, up to {CODEBOOK_PIXELS} pixels an image)')


def codebook_source(request: EvalRequest) -> str:
    """Where the classify40 codebook comes from, for the record: the dataset's
    ``vocab40.mat``, or :data:`KMEANS_SOURCE`."""
    from harness_nyudata import nyuv2

    return nyuv2.VOCAB_FILE if (Path(request.data_root) / nyuv2.VOCAB_FILE).is_file() \
        else KMEANS_SOURCE


def codebook_bytes(request: EvalRequest, split) -> bytes:
    """The codebook (:func:`codebook_source`) as a ``.npy`` file's bytes: the dataset's
    ``vocab40.mat``, or a spherical k-means of up to :data:`CODEBOOK_PIXELS` valid pixels of
    each train image's normals."""
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
    return buffer.getvalue()
