"""Registers sim (Siamese Image Modeling). Cheap to import: no torch here."""
from harness import hookimpl
from harness.api import MethodInfo, packaged_configs

#: the ViTs SiameseIM can drive (it runs their patch embedding, positions and blocks itself)
VITS = ('vit-b16', 'vit-s16', 'vit-tiny8')


@hookimpl
def harness_register_methods(register):
    register(MethodInfo(
        name='sim',
        summary='Siamese Image Modeling: from a block-masked view, predict the dense features '
                "an EMA target gives another view, at that view's positions relative to the "
                'first; UniGrad loss',
        modality='image',
        configs=packaged_configs('harness_sim', 'sim'),
        default_backbone='vit-b16',
        backbones=VITS,
        citation='Tao, Zhu, Dai, Su, Lu, Huang, Zhou, Qiao, Dai, "Siamese Image Modeling for '
                 'Self-Supervised Vision Representation Learning", CVPR 2023, arXiv:2206.01204',
    ))
