"""Registers the ``tiny3d`` backbone and the ``tinysiam`` method (no torch import here:
listing stays cheap)."""
from harness import hookimpl
from harness.api import BackboneInfo, MethodInfo


@hookimpl
def harness_register_backbones(register):
    register(BackboneInfo(
        name='tiny3d',
        summary='two 3D conv layers, 32-d: for smoke tests, not for results',
        modality='video',
        cfg={'type': 'harness.Tiny3D'},
        feat_dim=32,
        imports=('harness_example.tiny3d',),
    ))


@hookimpl
def harness_register_methods(register):
    register(MethodInfo(
        name='tinysiam',
        summary='example: a predictor regresses the other clip of the video (negative cosine, '
                'stop-gradient target), for smoke tests, not for results',
        modality='video',
        # configs shipped inside this package (package data), found the same way whether the
        # plugin is installed editable or from a wheel
        configs={'demo': 'harness_example:configs/tinysiam_demo.py',
                 'paper': 'harness_example:configs/tinysiam_paper.py'},
        default_backbone='tiny3d',
    ))
