"""Registers the evaluator ``nyuv2``. Cheap to import: no torch here. A protocol's version
changes whenever its numbers would."""
from harness import hookimpl
from harness.api import EvaluatorInfo, ProtocolInfo, packaged_configs

PACKAGE = 'harness_nyueval'


@hookimpl
def harness_register_evaluators(register):
    register(EvaluatorInfo(
        name='nyuv2',
        summary='NYU Depth v2 dense prediction: a pyramid-pooling head on the backbone at output '
                'stride 8, trained on the 795 train images, scored on the 654 test images',
        modality='image', dataset='nyuv2', splits=('official',), demo_pretrain='imagenet',
        protocols=(
            ProtocolInfo(
                name='normals', version='1',
                summary='surface normals: frozen backbone (finetune_paper: trained), 40-way '
                        'codebook classification decoded as the expected normal (classify40) or '
                        '1 - cos regression (regress_paper); angular error pooled over every '
                        'valid test pixel in float64',
                configs=packaged_configs(PACKAGE, 'normals',
                                         ('demo', 'paper', 'regress_paper', 'finetune_paper')),
                metrics=('mean', 'median', 'within_11.25', 'within_22.5', 'within_30'),
                implementation='harness_nyueval.protocols:Normals'),
            ProtocolInfo(
                name='depth', version='1',
                summary='depth: backbone and head trained by L1 in metres; % of valid test '
                        'pixels with max(d/d*, d*/d) < 1.25, abs-rel, RMSE, pooled',
                configs=packaged_configs(PACKAGE, 'depth'),
                metrics=('delta_1.25', 'abs_rel', 'rmse'),
                implementation='harness_nyueval.protocols:Depth'),
        )))
