"""Registers Learning to Count. Cheap to import: no torch here."""
from harness import hookimpl
from harness.api import MethodInfo, packaged_configs


@hookimpl
def harness_register_methods(register):
    register(MethodInfo(
        name='counting',
        summary='counts of the 2x-downsampled image equal the sum of its four tiles\' counts '
                '(non-negative count vector), with a hinge keeping another image\'s counts away',
        modality='image',
        configs=packaged_configs('harness_counting', 'counting'),
        default_backbone='alexnet-bn',
        citation='Noroozi, Pirsiavash, Favaro, "Representation Learning by Learning to Count", '
                 'ICCV 2017, arXiv:1708.06734',
    ))
