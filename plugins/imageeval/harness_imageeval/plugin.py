"""Registers the image evaluator ``imagenet``. Cheap to import: no torch here. A protocol's
version changes whenever its numbers would."""
from harness import hookimpl
from harness.api import EvaluatorInfo, ProtocolInfo, packaged_configs

PACKAGE = 'harness_imageeval'


@hookimpl
def harness_register_evaluators(register):
    register(EvaluatorInfo(
        name='imagenet',
        summary='image classification on an ImageNet-style folder (train/ and val/ classes)',
        modality='image', dataset='imagenet', splits=('val',),
        protocols=(
            ProtocolInfo(
                name='knn', version='1',
                summary='frozen backbone, L2-normalised pooled features of the centre crop, '
                        'k nearest train images by cosine (k=20), votes weighted by '
                        'exp(sim/0.07), top-1/top-5',
                configs=packaged_configs(PACKAGE, 'knn'), metrics=('top1', 'top5'),
                implementation='harness_imageeval.knn:Knn'),
            ProtocolInfo(
                name='linear', version='1',
                summary='frozen backbone kept in eval mode, global average pooled features, '
                        'Linear head (N(0, 0.01), bias 0; optionally after BatchNorm1d '
                        'without affine) trained by mmengine on random resized crops + flip, '
                        'tested on the knn centre crops, top-1/top-5',
                configs=packaged_configs(PACKAGE, 'linear',
                                         ('demo', 'paper', 'lars_paper', 'vit_paper')),
                metrics=('top1', 'top5'), implementation='harness_imageeval.linear:Linear'),
        )))
