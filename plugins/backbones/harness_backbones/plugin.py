"""Registers the backbones. Cheap to import: no torch here."""
from harness import hookimpl
from harness.api import BackboneInfo


@hookimpl
def harness_register_backbones(register):
    register(BackboneInfo(
        name='r3d18',
        summary='3D ResNet-18 (torchvision r3d_18, Tran et al. 2018), 512-d, no pooling',
        data='video',
        cfg={'type': 'harness.R3D18'},
        feat_dim=512,
        imports=('harness_backbones.video',),
    ))
