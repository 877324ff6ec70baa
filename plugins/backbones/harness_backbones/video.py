"""Video backbones: torchvision's video networks without their pooling and classifier.

Each maps clips ``[N, 3, T, H, W]`` to a feature map ``[N, D, T', H', W']`` so that the same
module serves pretraining (methods pool it) and mmaction2's Recognizer3D (its head pools it,
adaptively). Leaving torchvision's fixed pooling out is also what lets S3D run below 224 px.
"""
from mmengine.model import BaseModule
from torchvision.models import video as tv_video

from harness.api import MODELS


class _TorchvisionVideoResNet(BaseModule):
    """The stem and four stages of a torchvision VideoResNet."""

    builder = None

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        net = type(self).builder(weights=None)
        self.stem = net.stem
        self.layer1, self.layer2 = net.layer1, net.layer2
        self.layer3, self.layer4 = net.layer3, net.layer4

    def forward(self, x):
        x = self.stem(x)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
        return x


@MODELS.register_module()
class R3D18(_TorchvisionVideoResNet):
    """3D ResNet-18 (torchvision ``r3d_18``), 512 output channels."""

    builder = staticmethod(tv_video.r3d_18)



@MODELS.register_module()
class R2Plus1D18(_TorchvisionVideoResNet):
    """R(2+1)D-18 (torchvision ``r2plus1d_18``), 512 output channels."""

    builder = staticmethod(tv_video.r2plus1d_18)


@MODELS.register_module()
class S3D(BaseModule):
    """S3D (torchvision ``s3d``, Xie et al. 2018): its ``features``, 1024 output channels."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.features = tv_video.s3d(weights=None).features

    def forward(self, x):
        return self.features(x)


@MODELS.register_module()
class R3D18Slim(BaseModule):
    """3D ResNet-18 at a quarter of its width (stage widths 16, 32, 64, 128), built from
    mmaction2's ``ResNet3d`` laid out as torchvision's ``r3d_18``: a 3x7x7 stem with spatial
    stride 2 and no pooling, full 3x3x3 basic blocks, stages 2-4 halving time and space,
    Kaiming init without zeroed residual branches. 128 output channels; about 12x cheaper than
    R3D-18, which is what lets the CPU demo pretrain long enough to learn something."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        from mmaction.models.backbones import ResNet3d

        self.net = ResNet3d(depth=18, pretrained=None, pretrained2d=False, base_channels=16,
                            conv1_kernel=(3, 7, 7), conv1_stride_s=2, conv1_stride_t=1,
                            with_pool1=False, with_pool2=False,
                            temporal_strides=(1, 2, 2, 2), inflate=(1, 1, 1, 1),
                            zero_init_residual=False)
        self.net.init_weights()
        # initialised now: mmengine's init_weights() would otherwise run ResNet3d's own again
        # after this module's init_cfg, overwriting transferred weights with random ones
        self.net.is_init = True

    def forward(self, x):
        return self.net(x)
