"""Registers the ``tiny3d`` backbone (no torch import here: listing stays cheap)."""
from harness import hookimpl
from harness.api import BackboneInfo


@hookimpl
def harness_register_backbones(register):
    register(BackboneInfo(
        name='tiny3d',
        summary='two 3D conv layers, 32-d: for smoke tests, not for results',
        data='video',
        cfg={'type': 'harness.Tiny3D'},
        feat_dim=32,
        imports=('harness_example.tiny3d',),
    ))
