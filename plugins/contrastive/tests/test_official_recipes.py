"""The baselines' heads, schedules and configs against the official code: MoCo v3's ResNet
heads and crops (facebookresearch/moco-v3), SimSiam's heads and fixed predictor lr
(facebookresearch/simsiam), SimCLR's projector (google-research/simclr), BYOL's cosine EMA on
video, and MoCo's single-process shuffle-BN substitute and demo queues."""
from __future__ import annotations

import inspect
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS, DefaultScope
from torch import nn

from harness.api import HOOKS, MODELS, resolve_config
from harness_contrastive.models import MoCo, MoCoV3, SimCLR, SimSiam, VideoMoCo


def config(stem: str) -> Config:
    return Config.fromfile(str(resolve_config(f'harness_contrastive:configs/{stem}.py')))


@MODELS.register_module(force=True)
class TinyImageNet(nn.Module):
    def __init__(self, width: int = 8):
        super().__init__()
        self.body = nn.Conv2d(3, width, 3, stride=2, padding=1)

    def forward(self, x):
        return self.body(x)


def layers(module: nn.Sequential) -> list[tuple]:
    """A head as a list of (kind, sizes, bias / affine) rows."""
    rows = []
    for layer in module:
        if isinstance(layer, nn.Linear):
            rows.append(('Linear', layer.in_features, layer.out_features, layer.bias is not None))
        elif isinstance(layer, nn.BatchNorm1d):
            rows.append(('BN', layer.num_features, layer.weight is not None,
                         layer.bias is not None))
        else:
            rows.append((type(layer).__name__,))
    return rows


def build(stem: str, **overrides):
    """The model of a shipped config with a tiny backbone of ``feat_dim`` 2048 in place of its
    ResNet (the heads are what is checked)."""
    model = dict(config(stem).model)
    model.pop('data_preprocessor')
    model.update(backbone=dict(type='harness.TinyImageNet'), feat_dim=2048, **overrides)
    with DefaultScope.overwrite_default_scope('harness'):  # whatever scope an earlier test left
        return MODELS.build(model)


# -- MoCo v3 (facebookresearch/moco-v3: moco/builder.py MoCo_ResNet, _build_mlp; CONFIG.md) --

#: MoCo_ResNet: projector _build_mlp(2, 2048, 4096, 256), predictor _build_mlp(2, 256, 4096,
#: 256, last_bn=False); Linear without bias; BN + ReLU after the hidden layer; the projector's
#: last BN without affine parameters
MOCOV3_PROJECTOR = [('Linear', 2048, 4096, False), ('BN', 4096, True, True), ('ReLU',),
                    ('Linear', 4096, 256, False), ('BN', 256, False, False)]
MOCOV3_PREDICTOR = [('Linear', 256, 4096, False), ('BN', 4096, True, True), ('ReLU',),
                    ('Linear', 4096, 256, False)]


def test_mocov3_paper_model_has_the_resnet_heads():
    model = build('mocov3_paper')
    assert layers(model.projector) == MOCOV3_PROJECTOR
    assert layers(model.predictor) == MOCOV3_PREDICTOR
    assert layers(model.key_projector) == MOCOV3_PROJECTOR


def test_mocov3_defaults_are_the_resnet_recipe():
    model = MoCoV3(backbone=dict(type='harness.TinyImageNet'), feat_dim=2048)
    assert layers(model.projector) == MOCOV3_PROJECTOR
    assert layers(model.predictor) == MOCOV3_PREDICTOR


@pytest.mark.parametrize('stem', ['mocov3_paper', 'mocov3_demo'])
def test_mocov3_crops_start_at_area_0_2(stem):
    (views,) = [step['views'] for step in config(stem).train_dataloader.dataset.pipeline
                if step['type'] == 'SampleImageViews']
    assert [tuple(view['augment']['scale']) for view in views.values()] == [(0.2, 1.0)] * 2


# -- SimSiam (facebookresearch/simsiam: simsiam/builder.py, main_simsiam.py --fix-pred-lr) --

def test_simsiam_heads():
    model = build('simsiam_image_paper')
    assert layers(model.projector) == [
        ('Linear', 2048, 2048, False), ('BN', 2048, True, True), ('ReLU',),
        ('Linear', 2048, 2048, False), ('BN', 2048, True, True), ('ReLU',),
        ('Linear', 2048, 2048, False), ('BN', 2048, False, False)]
    assert layers(model.predictor) == [
        ('Linear', 2048, 512, False), ('BN', 512, True, True), ('ReLU',),
        ('Linear', 512, 2048, True)]


def tiny_simsiam():
    return SimSiam(backbone=dict(type='harness.TinyImageNet'), feat_dim=8, hidden_dim=16,
                   dim=16, pred_dim=4)


@pytest.mark.parametrize('stem', ['simsiam_image_paper', 'simsiam_paper', 'simsiam_demo',
                                  'simsiam_image_demo'])
def test_simsiam_configs_fix_the_predictor_lr(stem):
    wrapper = config(stem).optim_wrapper
    assert wrapper.constructor == 'FixedLrOptimWrapperConstructor'
    assert list(wrapper.fixed_lr) == ['predictor']


def test_simsiam_paper_predictor_lr_is_not_decayed():
    """simsiam_image_paper's optimizer and cosine schedule (lr 0.1, 100 epochs, stepped per
    epoch) over 60 epochs: at every step the encoder's lr is 0.1 (1 + cos(pi e / 100)) / 2,
    the predictor's 0.1 (main_simsiam.py adjust_learning_rate with fix_lr)."""
    cfg = config('simsiam_image_paper')
    torch.manual_seed(0)
    model = tiny_simsiam()
    with DefaultScope.overwrite_default_scope('harness'):
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        (scheduler,) = [PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper))
                        for s in cfg.param_scheduler]
    groups = wrapper.optimizer.param_groups
    predictor = {id(p) for p in model.predictor.parameters()}
    flagged = [all(id(p) in predictor for p in g['params']) for g in groups]
    assert [any(id(p) in predictor for p in g['params']) for g in groups] == flagged
    assert flagged == [False, True]  # the predictor's group last, the logged lr the encoder's
    assert sum(len(g['params']) for g in groups) == len(list(model.parameters()))
    used = []
    wrapper.optimizer.register_step_pre_hook(
        lambda optimizer, args, kwargs: used.append([g['lr'] for g in optimizer.param_groups]))
    inputs = {'view1': torch.randn(4, 3, 8, 8), 'view2': torch.randn(4, 3, 8, 8)}
    before = [p.detach().clone() for p in model.predictor.parameters()]
    for _ in range(60):
        wrapper.update_params(model(inputs)['loss'])
        scheduler.step()
    for epoch, (encoder_lr, predictor_lr) in enumerate(used):
        assert encoder_lr == pytest.approx(0.1 * (1 + math.cos(math.pi * epoch / 100)) / 2)
        assert predictor_lr == pytest.approx(0.1)
    assert used[-1][0] < 0.07  # the schedule did decay the encoder
    assert all(not torch.equal(a, b) for a, b in zip(before, model.predictor.parameters()))


def test_fixed_lr_constructor_wants_a_submodule_of_the_model():
    with DefaultScope.overwrite_default_scope('harness'):
        with pytest.raises(ValueError, match="no submodule 'predictr'"):
            build_optim_wrapper(tiny_simsiam(), dict(
                constructor='FixedLrOptimWrapperConstructor', fixed_lr=['predictr'],
                optimizer=dict(type='SGD', lr=0.1)))


# -- SimCLR (google-research/simclr: model_util.py projection_head, linear_layer) --

def test_simclr_projector_has_a_bn_on_every_layer_the_last_with_scale_and_no_offset():
    model = build('simclr_paper')
    assert layers(model.projector) == [
        ('Linear', 2048, 2048, False), ('BN', 2048, True, True), ('ReLU',),
        ('Linear', 2048, 128, False), ('BN', 128, True, False)]


def test_simclr_last_bn_scales_and_does_not_shift():
    """x = (1, 3) and (3, 5) in two features: batch means (2, 4), biased variance 1 each, so
    the normalised batch is (-1, -1), (1, 1) (up to BN's eps); scales (2, 0.5) give (-2, -0.5),
    (2, 0.5); no offset is learned."""
    model = SimCLR(backbone=dict(type='harness.TinyImageNet'), feat_dim=8, hidden_dim=16, dim=2)
    last = model.projector[-1]
    with torch.no_grad():
        last.weight.copy_(torch.tensor([2.0, 0.5]))
    out = last(torch.tensor([[1.0, 3.0], [3.0, 5.0]]))
    scale = 1 / math.sqrt(1 + last.eps)
    assert torch.allclose(out, torch.tensor([[-2.0, -0.5], [2.0, 0.5]]) * scale)
    assert [name for name, _ in last.named_parameters()] == ['weight']


def test_simclr_last_bn_scale_is_a_norm_parameter_for_the_optimizer():
    """norm_decay_mult (the paper configs' "no weight decay on BN") reaches its scale."""
    model = SimCLR(backbone=dict(type='harness.TinyImageNet'), feat_dim=8, hidden_dim=16, dim=2)
    with DefaultScope.overwrite_default_scope('harness'):
        wrapper = build_optim_wrapper(model, dict(
            optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4),
            paramwise_cfg=dict(norm_decay_mult=0.0)))
    (group,) = [g for g in wrapper.optimizer.param_groups
                if g['params'][0] is model.projector[-1].weight]
    assert group['weight_decay'] == 0


# -- BYOL on video: EMA 0.996 -> 1 on a cosine ([paper] Grill et al. 2020) --

class _Runner:
    def __init__(self, model, max_iters):
        self.model, self.max_iters, self.iter = model, max_iters, 0


@pytest.mark.parametrize('stem,start,total', [('byol_paper', 0.996, 1000),
                                              ('byol_demo', 0.99, 300)])
def test_video_byol_momentum_follows_the_cosine_to_1(stem, start, total):
    """The config's hook sets tau_k = 1 - (1 - tau_0) (cos(pi k / K) + 1) / 2 before iteration
    k of K; K is the run's length (a paper run's is its epochs' iterations; 1000 here)."""
    cfg = config(stem)
    (hook_cfg,) = [h for h in cfg.custom_hooks if h['type'] == 'CosineMomentumHook']
    assert cfg.model.momentum == start
    with DefaultScope.overwrite_default_scope('harness'):
        hook = HOOKS.build(hook_cfg)
    model = nn.Module()
    model.momentum = cfg.model.momentum
    runner = _Runner(model, total)
    hook.before_train(runner)
    seen = {}
    for k in (0, total // 4, total // 2, total):
        runner.iter = k
        hook.before_train_iter(runner, k)
        seen[k] = model.momentum
    assert seen[0] == pytest.approx(start)
    assert seen[total // 4] == pytest.approx(1 - (1 - start) * (math.sqrt(0.5) + 1) / 2)
    assert seen[total // 2] == pytest.approx(1 - (1 - start) / 2)
    assert seen[total] == pytest.approx(1.0)


# -- MoCo: shuffle-BN's substitute in one process, demo queues --

@MODELS.register_module(force=True)
class BatchStatsNet(nn.Module):
    """A BN without affine parameters: on one-hot rows, row i's output is nonzero exactly on
    the rows of the BN batch it was normalised in."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.norm = nn.BatchNorm1d(width, affine=False)

    def forward(self, x):
        return self.norm(x)


def bn_probe_moco(cls=MoCo, **kwargs):
    model = cls(backbone=dict(type='harness.BatchStatsNet'), feat_dim=8, hidden_dim=8, dim=8,
                queue_size=16, momentum=0.9, **kwargs)
    model.head, model.key_head = nn.Identity(), nn.Identity()
    return model


def bn_batches(encoded: torch.Tensor) -> list[frozenset]:
    return [frozenset(torch.nonzero(row.abs() > 1e-6).flatten().tolist()) for row in encoded]


def normalised_in(i: int, batch: frozenset) -> torch.Tensor:
    """One-hot sample i after a BN over the one-hot samples of ``batch`` (4 of them) and L2
    normalisation: e_i - 1/4 on ``batch`` (times 1/std), so sqrt(3)/2 at i, -1/(2 sqrt(3)) on
    the rest of ``batch``, 0 elsewhere."""
    row = torch.zeros(8)
    row[list(batch)] = -1 / (2 * math.sqrt(3))
    row[i] = math.sqrt(3) / 2
    return row


@pytest.mark.parametrize('cls', [MoCo, VideoMoCo])
def test_single_process_moco_normalises_keys_apart_from_their_queries(cls):
    """8 one-hot samples (sample i = e_i), bn_groups 2. Queries: BN over the contiguous halves
    {0..3}, {4..7}. Keys: BN over two sub-batches of 4, each dealt 2 samples of each query half,
    so no key is normalised with the batch of its query, and the keys come back in input
    order."""
    torch.manual_seed(0)
    extra = dict(drop=1) if cls is VideoMoCo else {}
    model = bn_probe_moco(cls, bn_groups=2, **extra)
    x = torch.eye(8)
    halves = [frozenset(range(4)), frozenset(range(4, 8))]
    for _ in range(5):
        queries, keys = model.query(x), model.momentum_key(x)
        assert bn_batches(queries) == [halves[i // 4] for i in range(8)]
        batches = bn_batches(keys)
        assert len(set(batches)) == 2 and set().union(*batches) == set(range(8))
        for i, batch in enumerate(batches):
            assert len(batch) == 4 and i in batch
            assert [len(batch & half) for half in halves] == [2, 2]
            assert batch != halves[i // 4]
            assert torch.allclose(keys[i], normalised_in(i, batch), atol=1e-6)
            assert torch.allclose(queries[i], normalised_in(i, halves[i // 4]), atol=1e-6)


def test_the_key_sub_batches_are_drawn_anew_each_step():
    torch.manual_seed(0)
    model = bn_probe_moco(bn_groups=2)
    x = torch.eye(8)
    drawn = {frozenset(bn_batches(model.momentum_key(x))) for _ in range(20)}
    assert len(drawn) > 1


def test_one_bn_group_or_a_small_batch_normalises_the_batch_whole():
    model = bn_probe_moco(bn_groups=1)
    assert bn_batches(model.momentum_key(torch.eye(8))) == [frozenset(range(8))] * 8
    model = bn_probe_moco(bn_groups=8)  # at most half the batch: 4 groups of 2
    assert {len(batch) for batch in bn_batches(model.momentum_key(torch.eye(8)))} == {2}
    assert bn_batches(model.query(torch.eye(8))) == [frozenset({2 * (i // 2), 2 * (i // 2) + 1})
                                                     for i in range(8)]


MOCO_CONFIGS = ['moco_demo', 'moco_paper', 'moco_image_demo', 'moco_image_paper',
                'videomoco_demo', 'videomoco_paper']


@pytest.mark.parametrize('stem', MOCO_CONFIGS)
def test_every_moco_config_uses_the_substitute_in_one_process(stem):
    cfg = config(stem)
    assert cfg.model.bn_groups >= 2
    assert cfg.train_dataloader.batch_size % cfg.model.bn_groups ** 2 == 0  # dealt evenly


def demo_train_size(harness_plugins, dataset: str) -> int:
    """The train videos or images of a dataset's demo, from its generator's defaults."""
    generate = inspect.signature(harness_plugins.get('dataset', dataset).info.module()
                                 .generate_demo).parameters
    return len(generate['classes'].default) * generate['train_per_class'].default


@pytest.mark.parametrize('stem,dataset', [('moco_demo', 'kinetics400'),
                                          ('videomoco_demo', 'kinetics400'),
                                          ('moco_image_demo', 'imagenet')])
def test_demo_queue_is_smaller_than_the_demo_set(stem, dataset, harness_plugins):
    cfg = config(stem)
    size = demo_train_size(harness_plugins, dataset)
    assert size == {'kinetics400': 160, 'imagenet': 240}[dataset]  # as the configs say
    queue, batch = cfg.model.queue_size, cfg.train_dataloader.batch_size
    assert queue < size
    assert queue % batch == 0  # whole batches of keys, as facebookresearch/moco asserts
