"""Registers Transitive Invariance. Cheap to import: no torch here."""
from harness import hookimpl
from harness.api import MethodInfo, packaged_configs


@hookimpl
def harness_register_methods(register):
    register(MethodInfo(
        name='transitive',
        summary='patches mined from videos: tracked (intra-instance) and clustered '
                '(inter-instance) pairs plus the transitive pairs between them, siamese '
                'triplet ranking loss',
        modality='image',
        reads='video',
        demo_pretrain='kinetics400',
        configs=packaged_configs('harness_transitive', 'transitive',
                                 ('demo', 'paper', 'intra_demo', 'inter_demo')),
        default_backbone='resnet50',  # on demo data resnet18-slim; the paper's headline: vgg16
        backbones=('vgg16', 'resnet18', 'resnet50', 'resnet18-slim'),
        citation='Wang, He, Gupta, "Transitive Invariance for Self-supervised Visual '
                 'Representation Learning", ICCV 2017, arXiv:1708.02901',
    ))
