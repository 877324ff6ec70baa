"""Image backbones: torchvision's and timm's image networks without their pooling and classifier.

Each maps images ``[N, 3, H, W]`` to a feature map ``[N, D, H', W']``, so the same module serves
pretraining (methods pool it), the image probes (they pool it) and, for the ResNets, detection:
their parameters keep torchvision's names (``conv1``, ``bn1``, ``layer1.0.conv1``, ...), which
are also the names of mmdet's ``ResNet(style='pytorch')``, so transferred weights load into
mmdet's own ResNet by key.
"""
from __future__ import annotations

from mmengine.model import BaseModule
from torch import nn
from torchvision import models as tv_models

from harness.api import MODELS


#: the stages of the ResNets, in order: a ResNet's config may stop it after one of them
#: (``out_stage``; BackboneInfo.stages)
RESNET_STAGES = ('layer1', 'layer2', 'layer3', 'layer4')


def resnet_depth(out_stage: str) -> int:
    """How many stages a ResNet ending at ``out_stage`` keeps; ValueError for another name."""
    if out_stage not in RESNET_STAGES:
        raise ValueError(f"out_stage must be one of {', '.join(RESNET_STAGES)}, got "
                         f'{out_stage!r}')
    return RESNET_STAGES.index(out_stage) + 1


class _TorchvisionResNet(BaseModule):
    """The stem and stages of a torchvision ResNet, under torchvision's names; with
    ``out_stage`` (default ``'layer4'``: all four) the network ends after that stage, and the
    later stages do not exist (not in the module, not in its ``state_dict``)."""

    builder = None

    def __init__(self, init_cfg=None, out_stage: str = 'layer4'):
        super().__init__(init_cfg=init_cfg)
        net = type(self).builder(weights=None)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.stage_names = RESNET_STAGES[:resnet_depth(out_stage)]
        for name in self.stage_names:
            setattr(self, name, getattr(net, name))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return x


@MODELS.register_module()
class ResNet18(_TorchvisionResNet):
    """ResNet-18 (torchvision ``resnet18``), 512 output channels at stride 32."""

    builder = staticmethod(tv_models.resnet18)


@MODELS.register_module()
class ResNet50(_TorchvisionResNet):
    """ResNet-50 (torchvision ``resnet50``), 2048 output channels at stride 32."""

    builder = staticmethod(tv_models.resnet50)


@MODELS.register_module()
class ResNet18Slim(BaseModule):
    """ResNet-18 at a quarter of its width (stem 16, stage widths 16, 32, 64, 128), mmdet's
    ``ResNet(depth=18, base_channels=16)``: torchvision's layout and parameter names (so mmdet
    loads it as it is), about 14x cheaper than ResNet-18, which is what lets the CPU demo
    pretrain long enough to learn something. 128 output channels at stride 32; with
    ``out_stage`` the network ends after that stage (mmdet's ``num_stages``)."""

    def __init__(self, init_cfg=None, out_stage: str = 'layer4'):
        super().__init__(init_cfg=init_cfg)
        from mmdet.models.backbones import ResNet as MMDetResNet

        stages = resnet_depth(out_stage)
        self.net = MMDetResNet(depth=18, base_channels=16, stem_channels=16, style='pytorch',
                               num_stages=stages, strides=(1, 2, 2, 2)[:stages],
                               dilations=(1,) * stages, out_indices=(stages - 1,),
                               norm_eval=False)
        self.net.init_weights()
        # initialised now: mmengine's init_weights() would otherwise run mmdet's own again
        # after this module's init_cfg, overwriting transferred weights with random ones
        self.net.is_init = True

    def forward(self, x):
        return self.net(x)[-1]


@MODELS.register_module()
class VGG16(BaseModule):
    """VGG-16 (torchvision ``vgg16``, no BN): its ``features``, 512 output channels at stride
    32 (Transitive Invariance's backbone)."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.features = tv_models.vgg16(weights=None).features

    def forward(self, x):
        return self.features(x)


@MODELS.register_module()
class AlexNetBN(BaseModule):
    """AlexNet with BatchNorm after every convolution (Learning to Count's CaffeNet-style
    network): Krizhevsky's widths 96-256-384-384-256 in one tower, torchvision's layer order
    (11x11 stride-4 stem, max pools after conv1, conv2 and conv5). 256 output channels at stride
    32. torchvision's ``alexnet`` has no BN and narrower layers, hence this one."""

    widths = (96, 256, 384, 384, 256)

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        kernels, paddings = (11, 5, 3, 3, 3), (2, 2, 1, 1, 1)
        layers: list[nn.Module] = []
        channels = 3
        for i, (width, kernel, pad) in enumerate(zip(self.widths, kernels, paddings)):
            layers += [nn.Conv2d(channels, width, kernel, stride=4 if i == 0 else 1, padding=pad,
                                 bias=False),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if i in (0, 1, 4):
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True))
            channels = width
        self.features = nn.Sequential(*layers)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')

    def forward(self, x):
        return self.features(x)


class _TimmViT(BaseModule):
    """A timm ``VisionTransformer`` (class token, learned positions, final LayerNorm) at any
    input size (``dynamic_img_size``: positions are interpolated from the ``img_size`` grid; a
    side that is not a multiple of the patch is padded up to one, ``dynamic_img_pad``); forward
    gives the normalised patch tokens as a map ``[N, D, ceil(H/p), ceil(W/p)]``. timm's
    parameter names are kept (``patch_embed.proj``, ``cls_token``, ``pos_embed``,
    ``blocks.i.*``, ``norm``), so the methods that drive the blocks themselves (SiameseIM) use
    the same module."""

    embed_dim = 384
    depth = 12
    num_heads = 6
    patch_size = 16
    img_size = 224

    def __init__(self, init_cfg=None, drop_path_rate: float = 0.0):
        super().__init__(init_cfg=init_cfg)
        from timm.models.vision_transformer import VisionTransformer

        self.vit = VisionTransformer(
            img_size=self.img_size, patch_size=self.patch_size, embed_dim=self.embed_dim,
            depth=self.depth, num_heads=self.num_heads, num_classes=0, global_pool='',
            fc_norm=False, dynamic_img_size=True, dynamic_img_pad=True,
            drop_path_rate=drop_path_rate)
        # timm initialised it already; mmengine's init_weights() would otherwise call timm's
        # init_weights() again after this module's init_cfg, replacing transferred weights
        self.vit.is_init = True

    def forward(self, x):
        tokens = self.vit.forward_features(x)[:, self.vit.num_prefix_tokens:]
        patch = self.patch_size
        height, width = -(-x.shape[-2] // patch), -(-x.shape[-1] // patch)
        return tokens.transpose(1, 2).reshape(len(x), self.embed_dim, height, width)


@MODELS.register_module()
class ViTS16(_TimmViT):
    """ViT-S/16 (timm ``VisionTransformer``, 384-d, 12 blocks, 6 heads)."""


@MODELS.register_module()
class ViTB16(_TimmViT):
    """ViT-B/16 (timm ``VisionTransformer``, 768-d, 12 blocks, 12 heads)."""

    embed_dim = 768
    num_heads = 12


@MODELS.register_module()
class ViTTiny8(_TimmViT):
    """A small ViT for CPU demos: ViT-Tiny's width (192-d, 3 heads) at 4 blocks, 8-pixel
    patches, positions for a 56-pixel image (a 7 x 7 grid, the image demo's crop size)."""

    embed_dim = 192
    depth = 4
    num_heads = 3
    patch_size = 8
    img_size = 56
