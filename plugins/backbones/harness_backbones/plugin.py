"""Registers the video and image backbones. Cheap to import: no torch here."""
from harness import hookimpl
from harness.api import BackboneInfo


VIDEO = ('harness_backbones.video',)
IMAGE = ('harness_backbones.image',)


def resnet_stages(base: int, expansion: int = 1) -> dict[str, int]:
    """A ResNet's stages (``out_stage`` of its config) -> their output channels."""
    return {f'layer{i + 1}': base * 2 ** i * expansion for i in range(4)}


@hookimpl
def harness_register_backbones(register):
    register(BackboneInfo(
        name='r3d18', summary='3D ResNet-18 (torchvision r3d_18, Tran et al. 2018), 512-d',
        modality='video', cfg={'type': 'harness.R3D18'}, feat_dim=512, imports=VIDEO,
        demo_standin='r3d18-slim'))
    register(BackboneInfo(
        name='r2plus1d18', summary='R(2+1)D-18 (torchvision r2plus1d_18, Tran et al. 2018), 512-d',
        modality='video', cfg={'type': 'harness.R2Plus1D18'}, feat_dim=512, imports=VIDEO))
    register(BackboneInfo(
        name='s3d', summary='S3D (torchvision s3d, Xie et al. 2018), 1024-d, any input size',
        modality='video', cfg={'type': 'harness.S3D'}, feat_dim=1024, imports=VIDEO))
    register(BackboneInfo(
        name='r3d18-slim',
        summary='3D ResNet-18 at quarter width (mmaction2 ResNet3d), 128-d; the demo default',
        modality='video', cfg={'type': 'harness.R3D18Slim'}, feat_dim=128, imports=VIDEO))

    register(BackboneInfo(
        name='resnet18',
        summary='ResNet-18 (torchvision resnet18), 512-d; mmdet ResNet key layout',
        modality='image', cfg={'type': 'harness.ResNet18'}, feat_dim=512, imports=IMAGE,
        stages=resnet_stages(64)))
    register(BackboneInfo(
        name='resnet50',
        summary='ResNet-50 (torchvision resnet50), 2048-d; mmdet ResNet key layout',
        modality='image', cfg={'type': 'harness.ResNet50'}, feat_dim=2048, imports=IMAGE,
        demo_standin='resnet18-slim', stages=resnet_stages(64, expansion=4)))
    register(BackboneInfo(
        name='resnet18-slim',
        summary="ResNet-18 at quarter width (mmdet ResNet, base_channels 16), 128-d; the image "
                'demo default', modality='image', cfg={'type': 'harness.ResNet18Slim'},
        feat_dim=128, imports=IMAGE, stages=resnet_stages(16)))
    register(BackboneInfo(
        name='vit-s16', summary='ViT-S/16 (timm VisionTransformer), 384-d, any input size',
        modality='image', cfg={'type': 'harness.ViTS16'}, feat_dim=384, imports=IMAGE))
    register(BackboneInfo(
        name='vit-b16', summary='ViT-B/16 (timm VisionTransformer), 768-d, any input size',
        modality='image', cfg={'type': 'harness.ViTB16'}, feat_dim=768, imports=IMAGE,
        demo_standin='vit-tiny8'))
    register(BackboneInfo(
        name='vit-tiny8',
        summary='ViT at 192-d, 4 blocks, 8-pixel patches (timm VisionTransformer); the image '
                'ViT demo default', modality='image', cfg={'type': 'harness.ViTTiny8'},
        feat_dim=192, imports=IMAGE))
    register(BackboneInfo(
        name='vgg16', summary='VGG-16 (torchvision vgg16 features, no BN), 512-d',
        modality='image', cfg={'type': 'harness.VGG16'}, feat_dim=512, imports=IMAGE))
    register(BackboneInfo(
        name='alexnet-bn',
        summary="AlexNet with BN (CaffeNet widths 96-256-384-384-256, Learning to Count's), 256-d",
        modality='image', cfg={'type': 'harness.AlexNetBN'}, feat_dim=256, imports=IMAGE))
