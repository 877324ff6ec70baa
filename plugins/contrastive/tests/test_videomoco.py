"""VideoMoCo: the decayed InfoNCE against a hand value, the queue's ages, the frame dropping on a
hand-checked clip, one train_step with an mmengine OptimWrapperDict (encoder down the loss,
generator up), and the same train_step under DDP in two real (gloo) processes, wrapped as its
config says (``MMSeparateDistributedDataParallel``): both players' gradients averaged across the
processes, the queues equal, the exported backbone with the keys of an unwrapped one."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import MMSeparateDistributedDataParallel
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

from harness.api import resolve_config
from harness.pretrain import check_distributable, unwrapped_children
from harness.registry import MODELS
from harness.testing import run_two_processes
from harness_contrastive.losses import decayed_info_nce, info_nce
from harness_contrastive.models import VideoMoCo, drop_lowest_frames, flip_gradient


def test_decayed_info_nce_hand_value():
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0]])  # q.k = 1
    queue = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])  # q.n = 0, -1
    age = torch.tensor([3, 2])  # weights 0.5^3, 0.5^2: similarities 0, -0.25
    t = 0.5
    expected = -math.log(math.exp(2) / (math.exp(2) + math.exp(0) + math.exp(-0.5)))
    assert decayed_info_nce(q, k, queue, age, t, 0.5).item() == pytest.approx(expected)


def test_decayed_info_nce_without_decay_is_info_nce():
    torch.manual_seed(0)
    q, k = nn.functional.normalize(torch.randn(2, 3, 4), dim=-1)
    queue = nn.functional.normalize(torch.randn(5, 4), dim=-1)
    age = torch.randint(0, 100, (5,))
    expected = info_nce(q, k, queue, 0.07)
    assert torch.allclose(decayed_info_nce(q, k, queue, age, 0.07, 1.0), expected)


@MODELS.register_module(force=True)
class TinyMoCoClipNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Conv3d(3, 8, 3, stride=2, padding=1)

    def forward(self, x):
        return self.body(x)


def tiny_videomoco(**overrides):
    cfg = dict(backbone=dict(type='harness.TinyMoCoClipNet'), feat_dim=8, hidden_dim=16, dim=4,
               queue_size=6, momentum=0.9, temperature=0.2, decay=0.9, drop=2,
               generator=dict(width=4, hidden=4))
    return VideoMoCo(**{**cfg, **overrides})


def views(n=4):
    return {'view1': torch.randn(n, 3, 8, 8, 8), 'view2': torch.randn(n, 3, 8, 8, 8)}


def test_queue_ages_grow_by_one_per_step_and_restart_for_new_keys():
    torch.manual_seed(0)
    model = tiny_videomoco()
    assert model.queue_age.tolist() == [0] * 6  # the random initial keys
    model(views(4))  # writes 0-3: every age +1, new keys 1
    assert model.queue_age.tolist() == [1, 1, 1, 1, 1, 1]
    model(views(4))  # writes 4, 5, 0, 1
    assert model.queue_age.tolist() == [1, 1, 2, 2, 1, 1]
    model(views(4))  # writes 2, 3, 4, 5
    assert model.queue_age.tolist() == [2, 2, 1, 1, 1, 1]


def hand_clip():
    """One clip, 2 channels, 4 frames of 2 x 2: channel c, frame t, pixel p holds
    (c + 1) * v_t + p with v = 1, 2, 3, 6 and p = 0, 1, 2, 3."""
    v = torch.tensor([1.0, 2.0, 3.0, 6.0]).view(1, 4, 1, 1)
    c = torch.tensor([1.0, 2.0]).view(2, 1, 1, 1)
    p = torch.arange(4.0).view(1, 1, 2, 2)
    return (c * v + p).unsqueeze(0)


def test_drop_lowest_frames_replaces_them_by_the_clip_mean_frame():
    clip = hand_clip()
    scores = torch.tensor([[0.5, -1.0, 2.0, 0.1]], requires_grad=True)  # lowest: frames 1, 3
    out = drop_lowest_frames(clip, scores, 2)
    p = torch.arange(4.0).view(2, 2)
    mean_frame = torch.stack([1 * 3 + p, 2 * 3 + p])  # mean of v is 3
    expected = clip.clone()
    expected[0, :, 1] = mean_frame
    expected[0, :, 3] = mean_frame
    assert torch.equal(out, expected)
    assert torch.equal(out[0, :, [0, 2]], clip[0, :, [0, 2]])  # kept frames untouched
    (out * torch.randn_like(out)).sum().backward()  # straight-through: scores get a gradient
    assert scores.grad is not None and scores.grad.abs().sum() > 0


def test_drop_lowest_frames_frame_mean_as_in_the_official_code():
    clip = hand_clip()
    out = drop_lowest_frames(clip, torch.tensor([[0.5, -1.0, 2.0, 0.1]]), 2, fill='frame_mean')
    # frame t's mean over channels and pixels: 1.5 * v_t + 1.5, i.e. 4.5 (t = 1) and 10.5 (t = 3)
    assert torch.equal(out[0, :, 1], torch.full((2, 2, 2), 4.5))
    assert torch.equal(out[0, :, 3], torch.full((2, 2, 2), 10.5))
    assert torch.equal(out[0, :, [0, 2]], clip[0, :, [0, 2]])


def test_drop_as_a_fraction_of_the_frames():
    model = tiny_videomoco(drop=0.25)
    assert model.dropped_frames(32) == 8 and model.dropped_frames(8) == 2
    with pytest.raises(ValueError, match='drop'):
        tiny_videomoco(drop=8).dropped_frames(8)


def test_flip_gradient_keeps_the_value_and_negates_the_gradient():
    x = torch.tensor([1.5, -2.0], requires_grad=True)
    y = flip_gradient(x)
    assert torch.equal(y, x)
    (3 * y).sum().backward()
    assert torch.equal(x.grad, torch.tensor([-3.0, -3.0]))


def demo_optim_wrapper(model, lr):
    """The demo config's two wrappers, built by mmengine, with plain SGD (a step is -lr * grad)."""
    cfg = Config.fromfile(str(resolve_config('harness_contrastive:configs/videomoco_demo.py'))
                         ).optim_wrapper
    assert 'optimizer' not in cfg  # the base's single optimizer is replaced
    for name in ('encoder', 'generator'):
        cfg[name].optimizer = dict(type='SGD', lr=lr)
    with DefaultScope.overwrite_default_scope('harness'):
        return build_optim_wrapper(model, cfg)


def test_train_step_moves_the_encoder_down_and_the_generator_up_the_loss():
    torch.manual_seed(0)
    model, inputs, lr = tiny_videomoco(), views(4), 0.1
    # The loss train_step sees, and its gradient, at the current parameters.
    probe = copy.deepcopy(model)
    key = probe.momentum_key(inputs['view2'])
    loss = probe.contrastive_loss(probe.query(probe.degrade(inputs['view1'])), key)
    loss.backward()
    grads = {n: p.grad for n, p in probe.named_parameters() if p.grad is not None}
    assert any(n.startswith('generator.') for n in grads)

    wrappers = demo_optim_wrapper(model, lr)
    assert isinstance(wrappers, OptimWrapperDict)
    assert list(wrappers.keys()) == ['encoder', 'generator']
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log = model.train_step({'inputs': inputs}, wrappers)
    step = {n: p.detach() - before[n] for n, p in model.named_parameters()}

    def along_gradient(prefixes):
        return sum((step[n] * g).sum() for n, g in grads.items() if n.startswith(prefixes))

    assert along_gradient('generator.') > 0  # ascent: the generator raises the loss
    assert along_gradient(('backbone.', 'head.')) < 0  # descent
    for name, grad in grads.items():
        if name.startswith('generator.'):  # SGD on -loss at the same point: exactly +lr * grad
            assert torch.allclose(step[name], lr * grad, atol=1e-6), name
    assert log['adversarial_loss'].item() == pytest.approx(loss.item(), rel=1e-5)
    assert set(log) == {'loss', 'adversarial_loss'}
    assert model.queue_ptr.item() == 4 and model.queue_age.tolist() == [1] * 6
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())


def test_forward_loss_reverses_the_generator_gradient():
    """For one optimizer (the conformance check): minimising forward's loss pushes the
    generator up the loss and the encoder down it."""
    torch.manual_seed(0)
    model, inputs = tiny_videomoco(), views(4)
    probe = copy.deepcopy(model)
    probe.contrastive_loss(probe.query(probe.degrade(inputs['view1'])),
                           probe.momentum_key(inputs['view2'])).backward()
    model(inputs)['loss'].backward()
    for (name, p), (_, q) in zip(model.named_parameters(), probe.named_parameters()):
        if p.grad is not None:
            sign = -1 if name.startswith('generator.') else 1
            assert torch.allclose(p.grad, sign * q.grad, atol=1e-6), name


def test_constructor_wants_every_trainable_parameter_in_one_wrapper():
    model = tiny_videomoco()
    cfg = dict(constructor='MultiOptimWrapperConstructor',
               encoder=dict(modules=['backbone', 'head'], optimizer=dict(type='SGD', lr=0.1)))
    with DefaultScope.overwrite_default_scope('harness'):
        with pytest.raises(ValueError, match='no optimizer wrapper'):
            build_optim_wrapper(model, cfg)
        cfg['generator'] = dict(modules=['generator', 'head'], optimizer=dict(type='SGD', lr=1))
        with pytest.raises(ValueError, match="'encoder' and 'generator'"):
            build_optim_wrapper(model, cfg)


STEPS = 2


def _ddp_worker(rank: int, port: int, results) -> None:
    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=2)
    torch.manual_seed(0)  # the same seed on every rank, as mmengine's Runner seeds them
    model = tiny_videomoco()
    cfg = Config.fromfile(str(resolve_config('harness_contrastive:configs/videomoco_demo.py')))
    wrapper = MMSeparateDistributedDataParallel(model, device_ids=None,
                                                **{k: v for k, v in cfg.model_wrapper_cfg.items()
                                                   if k != 'type'})
    check_distributable(wrapper, model)  # accepted
    wrappers = demo_optim_wrapper(wrapper, lr=0.1)
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.manual_seed(100 + rank)  # each rank its own share of the batch
    logs = [wrapper.train_step({'inputs': views(4)}, wrappers) for _ in range(STEPS)]
    with unwrapped_children(model):
        exported = model.backbone_state_dict()
    results[rank] = dict(
        start=start, params={n: p.detach().clone() for n, p in model.named_parameters()},
        queue=model.queue.clone(), ptr=int(model.queue_ptr), age=model.queue_age.clone(),
        exported=sorted(exported), wrapped=type(model.backbone).__name__,
        logs=[{k: float(v) for k, v in log.items()} for log in logs])
    torch_dist.destroy_process_group()


@pytest.fixture(scope='module')
def two_ranks():
    """VideoMoCo trained for a few steps in two gloo processes, wrapped as its config says."""
    return run_two_processes(_ddp_worker, start_method='fork')


def test_both_players_train_in_step_on_both_ranks(two_ranks):
    zero, one = two_ranks[0], two_ranks[1]
    assert zero['wrapped'] == 'MMDistributedDataParallel'  # the child was wrapped
    for name, value in zero['params'].items():
        # each rank saw other clips; DDP averaged every gradient, so the ranks stay equal
        assert torch.equal(value, one['params'][name]), name
    moved = {name.split('.')[0] for name, value in zero['params'].items()
             if not torch.equal(value, zero['start'][name])}
    assert {'backbone', 'head', 'generator'} <= moved  # both players trained
    for log in zero['logs'] + one['logs']:
        assert set(log) == {'loss', 'adversarial_loss'}


def test_the_queue_holds_every_rank_s_keys_alike(two_ranks):
    zero, one = two_ranks[0], two_ranks[1]
    assert torch.equal(zero['queue'], one['queue'])
    assert zero['ptr'] == one['ptr'] == (2 * 4 * STEPS) % 6  # both ranks' 4 keys, each step
    assert torch.equal(zero['age'], one['age'])


def test_the_exported_backbone_has_the_unwrapped_keys(two_ranks):
    assert two_ranks[0]['exported'] == sorted(tiny_videomoco().backbone_state_dict())
