"""A tiny 3D conv net, registered in the harness's model registry."""
from mmengine.model import BaseModule
from torch import nn

from harness.api import MODELS


@MODELS.register_module()
class Tiny3D(BaseModule):
    """Conv3d(3->16, stride 2) -> ReLU -> Conv3d(16->32, stride 2): ``[N, 32, T/4, H/4, W/4]``."""

    feat_dim = 32

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.conv1 = nn.Conv3d(3, 16, 3, stride=2, padding=1)
        self.conv2 = nn.Conv3d(16, 32, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv2(self.conv1(x).relu())
