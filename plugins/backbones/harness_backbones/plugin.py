"""Registers the backbones. Cheap to import: no torch here."""
from harness import hookimpl
from harness.api import BackboneInfo


VIDEO = ('harness_backbones.video',)


@hookimpl
def harness_register_backbones(register):
    register(BackboneInfo(
        name='r3d18', summary='3D ResNet-18 (torchvision r3d_18, Tran et al. 2018), 512-d',
        data='video', cfg={'type': 'harness.R3D18'}, feat_dim=512, imports=VIDEO,
        demo_standin='r3d18-slim'))
    register(BackboneInfo(
        name='r2plus1d18', summary='R(2+1)D-18 (torchvision r2plus1d_18, Tran et al. 2018), 512-d',
        data='video', cfg={'type': 'harness.R2Plus1D18'}, feat_dim=512, imports=VIDEO))
    register(BackboneInfo(
        name='s3d', summary='S3D (torchvision s3d, Xie et al. 2018), 1024-d, any input size',
        data='video', cfg={'type': 'harness.S3D'}, feat_dim=1024, imports=VIDEO))
    register(BackboneInfo(
        name='r3d18-slim',
        summary='3D ResNet-18 at quarter width (mmaction2 ResNet3d), 128-d; the demo default',
        data='video', cfg={'type': 'harness.R3D18Slim'}, feat_dim=128, imports=VIDEO))
