"""The BraVe pretraining model: separate narrow and broad backbones, one shared projector and
predictor, regression in both directions onto stop-gradient targets, no EMA."""
from __future__ import annotations

from typing import Sequence

from mmengine.model import BaseModel
from torch import Tensor

from harness.api import global_pool, mlp, MODELS
from harness_brave.losses import brave_loss


@MODELS.register_module()
class BraVe(BaseModel):
    """BraVe (Recasens et al., ICCV 2021).

    backbone: config of the narrow-view backbone f_n (the one transferred to evaluations).
    broad_backbone: config of f_b; defaults to a separate instance of ``backbone``. All broad
    views (``inputs['broad']``, a list) go through f_b. feat_dim: the backbones' output channels.
    projector g: Linear(hidden) BN ReLU Linear(dim) BN; predictor q: Linear(hidden) BN ReLU
    Linear(dim); both shared by every direction and view.
    """

    def __init__(self, backbone: dict, feat_dim: int, broad_backbone: dict | None = None,
                 hidden_dim: int = 4096, proj_dim: int = 128, data_preprocessor=None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.narrow_backbone = MODELS.build(backbone)
        self.broad_backbone = MODELS.build(broad_backbone or backbone)
        self.projector = mlp(feat_dim, hidden_dim, proj_dim, last_bn=True)
        self.predictor = mlp(proj_dim, hidden_dim, proj_dim, last_bn=False)

    def _embed(self, backbone, clips: Tensor) -> tuple[Tensor, Tensor]:
        z = self.projector(global_pool(backbone(clips)))
        return z, self.predictor(z)

    def forward(self, inputs: dict, data_samples=None, mode: str = 'loss'):
        if mode == 'tensor':
            return global_pool(self.narrow_backbone(inputs['narrow']))
        if mode != 'loss':
            raise ValueError(f"BraVe supports mode 'loss' and 'tensor', not {mode!r}")
        z_n, p_n = self._embed(self.narrow_backbone, inputs['narrow'])
        broad: Sequence[Tensor] = inputs['broad']
        if isinstance(broad, Tensor):
            broad = [broad]
        embedded = [self._embed(self.broad_backbone, clips) for clips in broad]
        loss = brave_loss(z_n, p_n, [z for z, _ in embedded], [p for _, p in embedded])
        return {'loss': loss}

    def backbone_state_dict(self) -> dict:
        """The narrow backbone f_n: the representation BraVe evaluates downstream."""
        return self.narrow_backbone.state_dict()
