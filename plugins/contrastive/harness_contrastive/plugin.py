"""Registers moco, videomoco, byol and simsiam on two clips of a video; moco, byol and simsiam
also on two augmented views of an image, and simclr and mocov3 on images. Cheap to import."""
from harness import hookimpl
from harness.api import MethodInfo, packaged_configs


#: name -> (summary, config stem, citation)
METHODS = {
    'moco': ('MoCo v2: InfoNCE against a queue of momentum-encoder keys, MLP head',
             'moco',
             'Chen, Fan, Girshick, He, "Improved Baselines with Momentum Contrastive Learning", '
             'arXiv:2003.04297, 2020'),
    'videomoco': ('VideoMoCo: MoCo on clips whose lowest-scored frames an adversarial generator '
                  'replaces by the mean frame, negatives decayed with their age in the queue',
                  'videomoco',
                  'Pan, Song, Yang, Jiang, Liu, "VideoMoCo: Contrastive Video '
                  'Representation Learning with Temporally Adversarial Examples", CVPR 2021'),
    'byol': ('BYOL: online predictor regresses an EMA target projection (2 - 2 cos), symmetric',
             'byol',
             'Grill et al., "Bootstrap Your Own Latent", NeurIPS 2020'),
    'simsiam': ('SimSiam: predictor vs stop-gradient projection of the other view, no EMA',
                'simsiam',
                'Chen & He, "Exploring Simple Siamese Representation Learning", CVPR 2021'),
}


#: image-only methods: name -> (summary, config stem, citation)
IMAGE_ONLY = {
    'simclr': ('SimCLR: NT-Xent over the 2N augmented views of a batch, MLP projector',
               'simclr',
               'Chen, Kornblith, Norouzi, Hinton, "A Simple Framework for Contrastive Learning '
               'of Visual Representations", ICML 2020'),
    'mocov3': ('MoCo v3: predictor queries against momentum keys of the other view, in-batch '
               'negatives, symmetrized, momentum on a cosine to 1',
               'mocov3',
               'Chen, Xie, He, "An Empirical Study of Training Self-Supervised Vision '
               'Transformers", ICCV 2021'),
}

#: methods that also train on two augmented views of an image: name -> config stem
IMAGE_METHODS = {'moco': 'moco_image', 'byol': 'byol_image', 'simsiam': 'simsiam_image'}


@hookimpl
def harness_register_methods(register):
    for name, (summary, stem, citation) in METHODS.items():
        also = ()
        if name in IMAGE_METHODS:
            also = (MethodInfo(name=name, summary=summary, modality='image',
                               configs=packaged_configs('harness_contrastive',
                                                        IMAGE_METHODS[name]),
                               default_backbone='resnet50', citation=citation),)
        register(MethodInfo(name=name, summary=summary, modality='video',
                            configs=packaged_configs('harness_contrastive', stem),
                            default_backbone='r3d18', citation=citation, also=also))
    for name, (summary, stem, citation) in IMAGE_ONLY.items():
        register(MethodInfo(name=name, summary=summary, modality='image',
                            configs=packaged_configs('harness_contrastive', stem),
                            default_backbone='resnet50', citation=citation))
