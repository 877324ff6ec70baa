"""Registers BraVe. Cheap to import: no torch here."""
from harness import hookimpl
from harness.api import MethodInfo, packaged_configs


@hookimpl
def harness_register_methods(register):
    register(MethodInfo(
        name='brave',
        summary='narrow view and broad (longer, lower-resolution) views regress each other: '
                'normalized MSE onto stop-gradient projections, no EMA',
        modality='video',
        configs=packaged_configs('harness_brave', 'brave'),
        default_backbone='r3d18',
        citation='Recasens et al., "Broaden Your Views for Self-Supervised Video Learning", '
                 'ICCV 2021, arXiv:2103.16559',
    ))
