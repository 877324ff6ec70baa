"""MoCo v2 and v3, VideoMoCo, BYOL, SimSiam and SimCLR on two views of one video or image
(``view1``, ``view2``: clips or images, whichever the backbone takes)."""
from __future__ import annotations

import copy
from contextlib import contextmanager

import torch
from mmengine import dist
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from torch import Tensor, nn
from torch.nn import functional as F

from harness.api import global_pool, mlp, momentum_update, MODELS
from harness_contrastive import optim  # noqa: F401  (registers MultiOptimWrapperConstructor)
from harness_contrastive.losses import (byol_regression, decayed_info_nce, info_nce,
                                        negative_cosine, nt_xent, symmetric_key_contrast)
from harness_contrastive.shuffle import (gather_all, gather_others, key_groups,
                                         shuffle_across_processes, unshuffle_across_processes)


class ScaleOnlyBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm with a learned per-feature scale and no offset (TensorFlow's
    ``batch_normalization(center=False, scale=True)``): SimCLR's last projector layer. A
    ``BatchNorm1d`` (so optimizer rules for norm layers apply to its scale) whose ``bias`` is
    None."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__(num_features, eps=eps, momentum=momentum, affine=True)
        self.bias = None

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        nn.init.ones_(self.weight)


def bias_free_mlp(*dims: int, last_norm: nn.Module | None, last_bias: bool = False
                  ) -> nn.Sequential:
    """Linear layers ``dims[0] -> dims[1] -> ... -> dims[-1]``, each but the last followed by
    BatchNorm and ReLU, the last by ``last_norm`` (None: nothing). The Linear layers have no
    bias (the BN after them would cancel it), as in MoCo v3's ``_build_mlp`` and SimSiam's and
    SimCLR's heads; ``last_bias``: the last one has a bias (SimSiam's predictor output, which
    no BN follows)."""
    if len(dims) < 3:
        raise ValueError(f'bias_free_mlp needs at least one hidden layer, got dims {dims}')
    if last_bias and last_norm is not None:
        raise ValueError('bias_free_mlp: a bias before the last norm would be cancelled by it')
    layers: list[nn.Module] = []
    for index, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        last = index == len(dims) - 2
        layers.append(nn.Linear(d_in, d_out, bias=last and last_bias))
        if not last:
            layers += [nn.BatchNorm1d(d_out), nn.ReLU(inplace=True)]
        elif last_norm is not None:
            layers.append(last_norm)
    return nn.Sequential(*layers)


class _TwoViewModel(BaseModel):
    """Shared plumbing: one online backbone, inputs ``{'view1': x1, 'view2': x2}``."""

    def __init__(self, backbone: dict, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)

    def embed(self, clips):
        return global_pool(self.backbone(clips))

    def forward(self, inputs: dict, data_samples=None, mode: str = 'loss'):
        if mode == 'tensor':
            return self.embed(inputs['view1'])
        if mode != 'loss':
            raise ValueError(f"{type(self).__name__} supports mode 'loss' and 'tensor', "
                             f'not {mode!r}')
        return {'loss': self.two_view_loss(inputs['view1'], inputs['view2'])}

    def backbone_state_dict(self) -> dict:
        return self.backbone.state_dict()


@MODELS.register_module()
class MoCo(_TwoViewModel):
    """MoCo v2: query encoder + momentum key encoder (EMA ``momentum``), MLP head, a queue of
    ``queue_size`` negative keys, InfoNCE at ``temperature`` (v2: 0.2).

    Shuffle-BN: under DDP the key batch is shuffled across processes before the key encoder
    (facebookresearch/moco ``moco/builder.py``, ``_batch_shuffle_ddp``). In a single process,
    ``bn_groups`` G >= 2 stands in for it (:mod:`harness_contrastive.shuffle`): the queries
    are encoded in G contiguous sub-batches and the keys in G sub-batches each dealt an equal
    share of every query sub-batch, each sub-batch with its own BN statistics, then put back
    in order, as MoCo over G processes of batch / G samples would. G is capped at half the
    batch (two samples per BN batch at least); 1 (or several processes) encodes the batch
    whole.
    """

    #: what MoCo exchanges across processes (harness.distributed: the record states it)
    gathers = {'queue': 'without gradient: every process enqueues every process\'s keys '
                        '(facebookresearch/moco: moco/builder.py concat_all_gather)',
               'key batch': 'without gradient: shuffled across processes before the key encoder '
                            'and restored after it (facebookresearch/moco: moco/builder.py '
                            '_batch_shuffle_ddp, _batch_unshuffle_ddp)'}

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 2048, dim: int = 128,
                 queue_size: int = 65536, momentum: float = 0.999, temperature: float = 0.2,
                 bn_groups: int = 1, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, data_preprocessor, init_cfg)
        if bn_groups < 1:
            raise ValueError(f'{type(self).__name__}: bn_groups must be >= 1, not {bn_groups}')
        self.head = nn.Sequential(nn.Linear(feat_dim, hidden_dim), nn.ReLU(inplace=True),
                                  nn.Linear(hidden_dim, dim))
        self.key_backbone = copy.deepcopy(self.backbone).requires_grad_(False)
        self.key_head = copy.deepcopy(self.head).requires_grad_(False)
        self.momentum, self.temperature, self.bn_groups = momentum, temperature, bn_groups
        self.register_buffer('queue', F.normalize(torch.randn(queue_size, dim), dim=1))
        self.register_buffer('queue_ptr', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys):
        """Replace the oldest keys (a ring buffer) by the keys of every process; returns the
        positions written."""
        keys = gather_all(keys)
        size = len(self.queue)
        positions = (self.queue_ptr + torch.arange(len(keys), device=keys.device)) % size
        self.queue[positions] = keys
        self.queue_ptr.copy_((self.queue_ptr + len(keys)) % size)
        return positions

    def bn_splits(self, count: int) -> int:
        """How many BN sub-batches a batch of ``count`` is split into in this process: 1 under
        DDP (the processes shuffle), else ``bn_groups`` at most ``count // 2``."""
        if dist.get_world_size() > 1:
            return 1
        return max(1, min(self.bn_groups, count // 2))

    def query(self, clips):
        """The queries, each sub-batch of
        :func:`~harness_contrastive.shuffle.query_groups` normalised on its own."""
        parts = clips.tensor_split(self.bn_splits(len(clips)))  # the rows of query_groups
        return torch.cat([F.normalize(self.head(self.embed(part)), dim=1) for part in parts])

    def encode_key(self, clips):
        return F.normalize(self.key_head(global_pool(self.key_backbone(clips))), dim=1)

    @torch.no_grad()
    def momentum_key(self, clips):
        """Move the key encoder towards the query encoder, then encode ``clips`` with it; under
        DDP the clips are shuffled across processes for the key encoder (shuffle-BN), in one
        process encoded in the sub-batches of :func:`~harness_contrastive.shuffle.key_groups`
        (the substitute)."""
        momentum_update(self.backbone, self.key_backbone, self.momentum)
        momentum_update(self.head, self.key_head, self.momentum)
        groups = self.bn_splits(len(clips))
        if groups == 1:
            clips, order = shuffle_across_processes(clips)
            return unshuffle_across_processes(self.encode_key(clips), order)
        keys = None
        for rows in key_groups(len(clips), groups):
            rows = rows.to(clips.device)
            part = self.encode_key(clips[rows])
            if keys is None:
                keys = part.new_empty(len(clips), part.shape[1])
            keys[rows] = part
        return keys

    def contrastive_loss(self, query, key):
        return info_nce(query, key, self.queue.clone(), self.temperature)

    def two_view_loss(self, view1, view2):
        query = self.query(view1)
        key = self.momentum_key(view2)
        loss = self.contrastive_loss(query, key)
        self.enqueue(key)
        return loss


@MODELS.register_module()
class BYOL(_TwoViewModel):
    """BYOL: online projector + predictor regress an EMA target's projection, symmetrized."""

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 4096, dim: int = 256,
                 momentum: float = 0.996, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.projector = mlp(feat_dim, hidden_dim, dim, last_bn=False)
        self.predictor = mlp(dim, hidden_dim, dim, last_bn=False)
        self.target_backbone = copy.deepcopy(self.backbone).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.momentum = momentum

    def two_view_loss(self, view1, view2):
        p1 = self.predictor(self.projector(self.embed(view1)))
        p2 = self.predictor(self.projector(self.embed(view2)))
        with torch.no_grad():
            momentum_update(self.backbone, self.target_backbone, self.momentum)
            momentum_update(self.projector, self.target_projector, self.momentum)
            z1 = self.target_projector(global_pool(self.target_backbone(view1)))
            z2 = self.target_projector(global_pool(self.target_backbone(view2)))
        return (byol_regression(p1, z2) + byol_regression(p2, z1)) / 2


@MODELS.register_module()
class SimCLR(_TwoViewModel):
    """SimCLR: projector, NT-Xent over the 2N views of a batch at ``temperature``.

    The projector is SimCLR's (google-research/simclr ``model_util.py``: ``projection_head``
    and ``linear_layer``, the SimCLR v1 code of its first commit): ``Linear(feat_dim,
    hidden_dim)``, BN, ReLU, ``Linear(hidden_dim, dim)``, BN with a learned scale and no offset
    (TensorFlow's ``center=False``, :class:`ScaleOnlyBatchNorm1d`). Every Linear layer there is
    followed by a BN and has no bias.

    Under DDP the other processes' projections are extra negatives, gathered with their
    gradient (:func:`~harness_contrastive.shuffle.gather_others` ``with_gradient=True``, as
    SimCLR's ``tpu_cross_replica_concat``): each process's loss covers its own anchors, and
    the average of the processes' gradients that DDP takes is the gradient of the NT-Xent of
    the whole batch.
    """

    gathers = {'negatives': 'with gradient: every process\'s projections, a differentiable '
                            'all-gather (google-research/simclr: objective.py '
                            'tpu_cross_replica_concat)'}

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 2048, dim: int = 128,
                 temperature: float = 0.1, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.projector = bias_free_mlp(feat_dim, hidden_dim, dim,
                                       last_norm=ScaleOnlyBatchNorm1d(dim))
        self.temperature = temperature

    def two_view_loss(self, view1, view2):
        z1, z2 = self.projector(self.embed(view1)), self.projector(self.embed(view2))
        others = gather_others(torch.cat([z1, z2]), with_gradient=True)
        return nt_xent(z1, z2, self.temperature, others)


@MODELS.register_module()
class MoCoV3(_TwoViewModel):
    """MoCo v3: backbone + projector + predictor queries against a momentum encoder's
    (backbone + projector) keys of the other view, in-batch negatives, symmetrized:
    ``ctr(q1, k2) + ctr(q2, k1)``. Under DDP every process's keys are negatives (rank-ordered,
    this process's first). The momentum follows a cosine to 1 when the config adds
    ``CosineMomentumHook``.

    The heads are MoCo v3's ``_build_mlp`` (facebookresearch/moco-v3 ``moco/builder.py``):
    Linear layers without bias, BN + ReLU after each hidden one. The defaults are its ResNet
    recipe (``MoCo_ResNet``): a 2-layer projector ``feat_dim -> hidden_dim -> dim`` ending in
    ``BatchNorm1d(dim, affine=False)`` and a 2-layer predictor ``dim -> hidden_dim -> dim``
    without a last BN. Its ViT recipe (``MoCo_ViT``) is ``projector_layers=3,
    predictor_last_bn=True``.
    """

    gathers = {'keys': 'without gradient: every process\'s momentum keys as negatives '
                       '(facebookresearch/moco-v3: moco/builder.py concat_all_gather)'}

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 4096, dim: int = 256,
                 momentum: float = 0.99, temperature: float = 0.2, projector_layers: int = 2,
                 predictor_last_bn: bool = False, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, data_preprocessor, init_cfg)
        if projector_layers < 2:
            raise ValueError(f'MoCoV3: projector_layers must be 2 (ResNet) or more (ViT: 3), '
                             f'not {projector_layers}')
        self.projector = bias_free_mlp(feat_dim, *[hidden_dim] * (projector_layers - 1), dim,
                                       last_norm=nn.BatchNorm1d(dim, affine=False))
        self.predictor = bias_free_mlp(
            dim, hidden_dim, dim,
            last_norm=nn.BatchNorm1d(dim, affine=False) if predictor_last_bn else None)
        self.key_backbone = copy.deepcopy(self.backbone).requires_grad_(False)
        self.key_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.momentum, self.temperature = momentum, temperature

    def keys(self, view):
        """The momentum encoder's keys of ``view``, this process's first, then the others'."""
        keys = self.key_projector(global_pool(self.key_backbone(view)))
        others = gather_others(keys)
        return keys if others is None else torch.cat([keys, others])

    def two_view_loss(self, view1, view2):
        q1 = self.predictor(self.projector(self.embed(view1)))
        q2 = self.predictor(self.projector(self.embed(view2)))
        with torch.no_grad():
            momentum_update(self.backbone, self.key_backbone, self.momentum)
            momentum_update(self.projector, self.key_projector, self.momentum)
            k1, k2 = self.keys(view1), self.keys(view2)
        return (symmetric_key_contrast(q1, k2, self.temperature)
                + symmetric_key_contrast(q2, k1, self.temperature))


@MODELS.register_module()
class SimSiam(_TwoViewModel):
    """SimSiam: projector and predictor, -cos to the stop-gradient projection of the other view,
    symmetrized; no EMA.

    Heads as facebookresearch/simsiam ``simsiam/builder.py``: the projector is three Linear
    layers ``feat_dim -> hidden_dim -> hidden_dim -> dim``, BN + ReLU after the first two, the
    last followed by ``BatchNorm1d(dim, affine=False)``; the predictor is ``Linear(dim,
    pred_dim, bias=False)``, BN, ReLU, ``Linear(pred_dim, dim)`` (with bias). The projector's
    Linear layers have no bias: the official code builds the first two without and freezes
    the last one's (``requires_grad = False``: "not use bias as it is followed by BN"), and a
    frozen bias before a BN without affine parameters changes nothing, in training or eval.
    The official predictor learning rate is not decayed (``--fix-pred-lr``): configs get it
    with ``FixedLrOptimWrapperConstructor`` (``fixed_lr=['predictor']``).
    """

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 2048, dim: int = 2048,
                 pred_dim: int = 512, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.projector = bias_free_mlp(feat_dim, hidden_dim, hidden_dim, dim,
                                       last_norm=nn.BatchNorm1d(dim, affine=False))
        self.predictor = bias_free_mlp(dim, pred_dim, dim, last_norm=None, last_bias=True)

    def two_view_loss(self, view1, view2):
        z1, z2 = self.projector(self.embed(view1)), self.projector(self.embed(view2))
        p1, p2 = self.predictor(z1), self.predictor(z2)
        return (negative_cosine(p1, z2) + negative_cosine(p2, z1)) / 2


def flip_gradient(x: Tensor) -> Tensor:
    """``x`` in the forward pass; the gradient passes back negated (a gradient reversal)."""
    return x.detach() - (x - x.detach())


def drop_lowest_frames(clips: Tensor, scores: Tensor, drop: int, fill: str = 'clip_mean'
                       ) -> Tensor:
    """VideoMoCo's temporally adversarial clip: the ``drop`` lowest-scored frames of each clip
    replaced by a mean.

    clips: ``[N, C, T, H, W]``; scores: ``[N, T]``. ``fill='clip_mean'``: the clip's mean frame
    (the average over time); ``'frame_mean'``: the frame's own mean over channels and pixels (a
    flat frame), which is what tinapan-pt/VideoMoCo ``moco/builder.py`` (``MaskGenerator``)
    does. The value uses the hard choice of frames; the gradient reaches ``scores`` through a
    straight-through estimator: soft drop weights ``w = drop * softmax(-scores)`` over time, as
    if frame ``t`` were blended towards the fill by ``w_t`` (``d out_t / d w_t = fill - x_t``).
    """
    n, _, frames = clips.shape[:3]
    if fill == 'clip_mean':
        filler = clips.mean(dim=2, keepdim=True)
    elif fill == 'frame_mean':
        filler = clips.mean(dim=(1, 3, 4), keepdim=True)
    else:
        raise ValueError(f"fill must be 'clip_mean' or 'frame_mean', not {fill!r}")
    lowest = scores.topk(drop, dim=1, largest=False).indices
    hard = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, lowest, True)
    soft = drop * torch.softmax(-scores, dim=1)
    straight_through = (soft - soft.detach()).view(n, 1, frames, 1, 1)
    return (torch.where(hard.view(n, 1, frames, 1, 1), filler, clips)
            + straight_through * (filler - clips))


@contextmanager
def frozen(*modules: nn.Module):
    """Switch off ``requires_grad`` of the modules' trainable parameters for the block."""
    params = [p for module in modules for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class FrameScorer(nn.Module):
    """VideoMoCo's generator, small: one score per frame of a clip, ``[N, C, T, H, W] -> [N, T]``.

    The paper's generator is convolutions + ASPP + a bidirectional LSTM over the frames. Here
    two strided convolutions and global average pooling give each frame a ``width``-d feature,
    and a bidirectional LSTM (``hidden`` units each way) over time scores it, so a frame's score
    depends on the frames around it.
    """

    def __init__(self, in_channels: int = 3, width: int = 16, hidden: int = 32):
        super().__init__()
        self.frame_features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.temporal = nn.LSTM(width, hidden, batch_first=True, bidirectional=True)
        self.score = nn.Linear(2 * hidden, 1)

    def forward(self, clips: Tensor) -> Tensor:
        n, _, frames = clips.shape[:3]
        features = self.frame_features(clips.transpose(1, 2).flatten(0, 1)).view(n, frames, -1)
        return self.score(self.temporal(features)[0]).squeeze(-1)


@MODELS.register_module()
class VideoMoCo(MoCo):
    """VideoMoCo (Pan et al., CVPR 2021): MoCo on adversarially degraded query clips, against a
    queue whose negatives fade with age.

    - A generator (:class:`FrameScorer`, sizes in ``generator``) scores the frames of the query
      clip; the ``drop`` lowest-scored ones (a count, or a fraction of the frames; paper: 8 of
      32) are replaced by the clip's mean frame (``fill``, see :func:`drop_lowest_frames`). The
      generator is trained to maximise the contrastive loss, the encoder to minimise it.
    - ``queue_age`` counts the enqueue steps since each queued key entered (a new key has age 1
      at its first use); its logit is scaled by ``decay ** age`` (:func:`decayed_info_nce`).
    - Shuffle-BN as :class:`MoCo` (across processes under DDP; ``bn_groups`` sub-batches in a
      single process).

    The Runner trains through :meth:`train_step`: an OptimWrapperDict with the wrappers
    ``generator`` and ``encoder`` (``backbone`` + ``head``; ``MultiOptimWrapperConstructor``),
    updated in turn each iteration. ``forward(mode='loss')`` returns the same loss for a single
    optimizer: a gradient reversal on the frame scores makes minimising it train the generator
    to maximise it (simultaneous rather than alternating updates).

    Frame choice is not differentiable: the generator learns through a straight-through
    estimator (hard choice in the value, soft weights in the gradient). The official code
    (tinapan-pt/VideoMoCo ``train.py``) differs: its generator minimises
    ``-100 * L1(q_fake, q_real)`` (pushes the degraded clip's query away from the intact
    clip's) and, with a hard top-k and in-place fill, no gradient appears to reach it.
    """

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 2048, dim: int = 128,
                 queue_size: int = 65536, momentum: float = 0.999, temperature: float = 0.07,
                 decay: float = 0.99999, drop: int | float = 0.25, fill: str = 'clip_mean',
                 generator: dict | None = None, bn_groups: int = 1, data_preprocessor=None,
                 init_cfg=None):
        super().__init__(backbone, feat_dim, hidden_dim=hidden_dim, dim=dim,
                         queue_size=queue_size, momentum=momentum, temperature=temperature,
                         bn_groups=bn_groups, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if fill not in ('clip_mean', 'frame_mean'):
            raise ValueError(f"fill must be 'clip_mean' or 'frame_mean', not {fill!r}")
        self.generator = FrameScorer(**(generator or {}))
        self.decay, self.drop, self.fill = decay, drop, fill
        self.register_buffer('queue_age', torch.zeros(queue_size, dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys):
        """Replace the oldest keys; every queued key ages one step, the new ones start at 1."""
        positions = super().enqueue(keys)
        self.queue_age += 1
        self.queue_age[positions] = 1
        return positions

    def contrastive_loss(self, query, key):
        return decayed_info_nce(query, key, self.queue.clone(), self.queue_age.clone(),
                                self.temperature, self.decay)

    def dropped_frames(self, frames: int) -> int:
        count = round(self.drop * frames) if isinstance(self.drop, float) else int(self.drop)
        if not 0 < count < frames:
            raise ValueError(f'VideoMoCo: drop={self.drop} drops {count} of {frames} frames; '
                             f'it must drop at least one and keep at least one')
        return count

    def degrade(self, clips, reverse_gradient: bool = False):
        """The generator's clip: its lowest-scored frames replaced (:func:`drop_lowest_frames`)."""
        scores = self.generator(clips)
        if reverse_gradient:
            scores = flip_gradient(scores)
        return drop_lowest_frames(clips, scores, self.dropped_frames(clips.shape[2]), self.fill)

    def two_view_loss(self, view1, view2):
        query = self.query(self.degrade(view1, reverse_gradient=True))
        key = self.momentum_key(view2)
        loss = self.contrastive_loss(query, key)
        self.enqueue(key)
        return loss

    def train_step(self, data, optim_wrapper: OptimWrapperDict) -> dict:
        """One iteration, the players in turn (as mmagic's GANs do): the key encoder's momentum
        update and the keys; the generator's step on the negated loss, through the frozen query
        encoder; the encoder's step on the clips of the updated generator; then the enqueue.
        Logs ``loss`` (the encoder's) and ``adversarial_loss`` (before the generator's step)."""
        encoder_wrapper, generator_wrapper = optim_wrapper['encoder'], optim_wrapper['generator']
        data = self.data_preprocessor(data, True)
        view1, view2 = data['inputs']['view1'], data['inputs']['view2']
        key = self.momentum_key(view2)
        with frozen(self.backbone, self.head):
            with generator_wrapper.optim_context(self.generator):
                adversarial = self.contrastive_loss(self.query(self.degrade(view1)), key)
            generator_wrapper.update_params(-adversarial)
        with encoder_wrapper.optim_context(self):
            with torch.no_grad():
                clips = self.degrade(view1)
            loss = self.contrastive_loss(self.query(clips), key)
        encoder_wrapper.update_params(loss)
        self.enqueue(key)
        return {'loss': loss.detach(), 'adversarial_loss': adversarial.detach()}
