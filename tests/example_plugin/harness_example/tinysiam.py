"""The example method's model: two clips of a video, a predictor regresses the other clip's
stop-gradient embedding (negative cosine, both directions)."""
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from harness.api import global_pool, MODELS


def negative_cosine(p, z):
    """-cos(p, sg(z)), averaged over the batch: a pure function of its inputs."""
    return -F.cosine_similarity(p, z.detach(), dim=-1).mean()


@MODELS.register_module()
class TinySiam(BaseModel):

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 64,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.predictor = nn.Sequential(nn.Linear(feat_dim, hidden_dim), nn.ReLU(),
                                       nn.Linear(hidden_dim, feat_dim))

    def forward(self, inputs, data_samples=None, mode='loss'):
        z1 = global_pool(self.backbone(inputs['view1']))
        z2 = global_pool(self.backbone(inputs['view2']))
        if mode == 'tensor':
            return z1
        loss = 0.5 * (negative_cosine(self.predictor(z1), z2)
                      + negative_cosine(self.predictor(z2), z1))
        return {'loss': loss}

    def backbone_state_dict(self):
        return self.backbone.state_dict()
