"""The dense network of the NYUv2 protocols (docs/image-evals.md §4): ssl-transfer's
``ptresnet50dilated`` encoder (a ResNet with layer3 and layer4 dilated, output stride 8) and
PSPNet's pyramid pooling (``ppm``) decoder.

- :func:`dilate_resnet` turns a ResNet's layer3 and layer4 from strided into dilated
  convolutions in place; parameter names and shapes do not change, so SSL weights load by key
  before or after; :func:`dilate_vgg16` does the same for VGG-16 (DeepLab's: pool4 and pool5
  removed, conv5 dilated 2). ``harness.DilatedBackbone`` is a backbone config wrapped in them.
- ``harness.PyramidPoolingHead`` is the decoder; it returns logits (``out_channels`` classes
  for ``classify40``, 3 for ``regress``); the softmax or the normalisation is the caller's.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn import functional as F

from harness.api import MODELS

#: output stride -> dilation of (layer3, layer4)
STAGE_DILATIONS = {8: (2, 4), 16: (1, 2)}


def resnet_stages(backbone: nn.Module) -> nn.Module:
    """The module holding ``layer1``..``layer4`` of a torchvision-layout ResNet: ``backbone``
    itself (torchvision's ResNets, ``harness.ResNet18``, ``harness.ResNet50``, mmdet's
    ``ResNet``) or its ``net`` (``harness.ResNet18Slim``, which wraps mmdet's ``ResNet``); a
    ResNet cut after layer3 (``out_stage='layer3'``) has no ``layer4``. TypeError otherwise."""
    for candidate in (backbone, getattr(backbone, 'net', None)):
        if isinstance(candidate, nn.Module) and all(
                isinstance(getattr(candidate, f'layer{i}', None), nn.Module)
                for i in range(1, 4)):
            return candidate
    raise TypeError(f'{type(backbone).__name__} is not a ResNet with layer1..layer3 (itself or '
                    f'as .net): dilate_resnet supports torchvision-layout ResNets '
                    f'(harness.ResNet18, ResNet50, ResNet18Slim, torchvision and mmdet ResNets)')


def _stage_convs(stage: nn.Module, name: str) -> list[nn.Conv2d]:
    """The convolutions of a ResNet stage that :func:`_dilate_stage` can dilate; TypeError on
    a layout it cannot (pooling or deformable convolutions, unexpected kernels or padding),
    ValueError on a stage without stride (dilated already)."""
    convs = []
    for module_name, module in stage.named_modules():
        if isinstance(module, nn.Conv2d):
            convs.append(module)
        elif hasattr(module, 'stride') and not any(True for _ in module.children()):
            raise TypeError(f'{name}.{module_name} ({type(module).__name__}) has a stride '
                            f'dilate_resnet cannot remove: only plain Conv2d layers (no '
                            f'pooling in the shortcut, no deformable convolutions) are supported')
    if not any(conv.stride == (2, 2) for conv in convs):
        raise ValueError(f'{name} has no stride-2 convolution: already dilated?')
    for conv in convs:
        if conv.kernel_size not in ((1, 1), (3, 3)) or conv.dilation != (1, 1) or \
                conv.stride not in ((1, 1), (2, 2)) or \
                conv.padding != tuple(k // 2 for k in conv.kernel_size):
            raise TypeError(f'{name} has a convolution dilate_resnet does not expect: kernel '
                            f'{conv.kernel_size}, stride {conv.stride}, dilation '
                            f'{conv.dilation}, padding {conv.padding}')
    return convs


def _dilate_stage(convs: list[nn.Conv2d], dilation: int) -> None:
    """Remove the stride of a stage's convolutions and dilate the 3x3 ones: the convolution
    that had stride 2 gets ``dilation // 2`` (it reads the previous stage's grid), every other
    3x3 one ``dilation``; padding equals the dilation, so sizes are kept (PSPNet's
    ``_nostride_dilate`` rule, which ssl-transfer's ``ptresnet50dilated`` uses)."""
    for conv in convs:
        strided = conv.stride == (2, 2)
        conv.stride = (1, 1)
        if conv.kernel_size == (3, 3):
            rate = dilation // 2 if strided else dilation
            conv.dilation = (rate, rate)
            conv.padding = (rate, rate)


def dilate_resnet(backbone: nn.Module, output_stride: int = 8) -> nn.Module:
    """Make a ResNet's output stride 8 (layer3 dilated 2, layer4 dilated 4; with
    ``output_stride=16`` only layer4, dilated 2; a ResNet cut after layer3 has only its layer3
    dilated, so its output stride is the same), in place, by changing the stride, dilation
    and padding of its convolutions: no parameter or buffer changes name, shape or value.
    Returns ``backbone``. Supports the torchvision layout (``conv1``, ``bn1``, ``layer1``..
    ``layer4`` of BasicBlocks or Bottlenecks, the stride on the 3x3 convolution and on a 1x1
    downsample convolution): torchvision's ResNets, ``harness.ResNet18``/``ResNet50``, mmdet's
    ``ResNet(style='pytorch')`` and ``harness.ResNet18Slim`` (through its ``net``); TypeError
    for anything else (e.g. mmdet's ``avg_down`` shortcuts or deformable convolutions), and
    ValueError on a ResNet dilated already."""
    if output_stride not in STAGE_DILATIONS:
        raise ValueError(f'output_stride must be one of {sorted(STAGE_DILATIONS)}, got '
                         f'{output_stride}')
    stages = resnet_stages(backbone)
    plan = [(_stage_convs(getattr(stages, f'layer{index}'), f'layer{index}'), dilation)
            for index, dilation in zip((3, 4), STAGE_DILATIONS[output_stride])
            if dilation > 1 and isinstance(getattr(stages, f'layer{index}', None), nn.Module)]
    for convs, dilation in plan:  # everything checked first: nothing half-dilated on error
        _dilate_stage(convs, dilation)
    return backbone


#: VGG-16 ``features`` indices: the max-pools after conv4_3 and conv5_3, and the conv5 layers
VGG16_POOL4, VGG16_POOL5, VGG16_CONV5 = 23, 30, (24, 26, 28)


def dilate_vgg16(backbone: nn.Module, output_stride: int = 8) -> nn.Module:
    """Make a VGG-16 trunk (a ``features`` Sequential in torchvision's layout, as
    ``harness.VGG16``) dense, in place: pool5 removed (stride 16); for ``output_stride=8`` also
    pool4, with conv5_1-conv5_3 dilated 2 (DeepLab's VGG-16). Pooling layers have no parameters,
    so names and shapes of the weights do not change. Returns ``backbone``; TypeError when it
    is not that layout."""
    if output_stride not in (8, 16):
        raise ValueError(f'output_stride must be 8 or 16, got {output_stride}')
    features = getattr(backbone, 'features', None)
    layout_ok = isinstance(features, nn.Sequential) and len(features) == 31 and all(
        isinstance(features[i], nn.MaxPool2d) for i in (VGG16_POOL4, VGG16_POOL5)) and all(
        isinstance(features[i], nn.Conv2d) and features[i].dilation == (1, 1)
        for i in VGG16_CONV5)
    if not layout_ok:
        raise TypeError(f'{type(backbone).__name__} is not an undilated VGG-16 (a 31-layer '
                        'features Sequential in torchvision\'s layout)')
    features[VGG16_POOL5] = nn.Identity()
    if output_stride == 8:
        features[VGG16_POOL4] = nn.Identity()
        for index in VGG16_CONV5:
            features[index].dilation, features[index].padding = (2, 2), (2, 2)
    return backbone


def dilate(backbone: nn.Module, output_stride: int = 8) -> nn.Module:
    """:func:`dilate_vgg16` for a VGG-16 trunk, :func:`dilate_resnet` otherwise."""
    if isinstance(getattr(backbone, 'features', None), nn.Sequential):
        return dilate_vgg16(backbone, output_stride)
    return dilate_resnet(backbone, output_stride)


@MODELS.register_module()
class DilatedBackbone(BaseModule):
    """A ResNet or VGG-16 backbone (its config, with the SSL weights as its own ``init_cfg``)
    with its output stride brought to 8 by :func:`dilate`: ``[N, 3, H, W]`` ->
    ``[N, D, H/8, W/8]``. The backbone sits at ``self.backbone`` under its own parameter
    names, so its weights load into it by key exactly as into the undilated backbone."""

    def __init__(self, backbone: Mapping[str, Any] | nn.Module, output_stride: int = 8,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.backbone = (backbone if isinstance(backbone, nn.Module)
                         else MODELS.build(dict(backbone)))
        dilate(self.backbone, output_stride)
        self.output_stride = output_stride

    @property
    def weight_load_report(self) -> dict | None:
        """The backbone's weight load report (``harness.SSLPretrained``), if it loaded any."""
        return getattr(self.backbone, 'weight_load_report', None)

    def forward(self, x: Tensor) -> Tensor:
        return self.backbone(x)


@MODELS.register_module()
class PyramidPoolingHead(BaseModule):
    """PSPNet's pyramid pooling decoder (the ``ppm`` of ssl-transfer's normals model).

    For each scale in ``pool_scales``: adaptive average pooling to ``scale x scale`` -> 1x1
    conv to ``channels`` (no bias) -> BN -> ReLU, upsampled bilinearly to the input map; these
    are concatenated with the input map -> 3x3 conv to ``channels`` (no bias) -> BN -> ReLU ->
    Dropout2d(``dropout``) -> 1x1 conv to ``out_channels`` (with bias). Takes a feature map
    ``[N, in_channels, h, w]`` (or a list/tuple of maps: the last is used) and returns logits
    ``[N, out_channels, h, w]``. Convolutions start Kaiming-normal (fan-in, ReLU), the last
    one's bias 0, BN at weight 1 and bias 0.

    In training, a pooling scale of 1 gives BN one value per channel and image, so it needs
    batches of at least 2 (as PSPNet's).
    """

    def __init__(self, in_channels: int, out_channels: int, channels: int = 512,
                 pool_scales: Sequence[int] = (1, 2, 3, 6), dropout: float = 0.1,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.pool_scales = tuple(pool_scales)
        self.ppm = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(scale),
                          nn.Conv2d(in_channels, channels, 1, bias=False),
                          nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
            for scale in self.pool_scales)
        self.conv_last = nn.Sequential(
            nn.Conv2d(in_channels + len(self.pool_scales) * channels, channels, 3, padding=1,
                      bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True), nn.Dropout2d(dropout),
            nn.Conv2d(channels, out_channels, 1))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode='fan_in', nonlinearity='relu')
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, features: Tensor | Sequence[Tensor]) -> Tensor:
        x = features if isinstance(features, Tensor) else features[-1]
        size = x.shape[-2:]
        pyramid = [x] + [F.interpolate(branch(x), size, mode='bilinear', align_corners=False)
                         for branch in self.ppm]
        return self.conv_last(torch.cat(pyramid, dim=1))
