"""Registers the detection evaluators ``voc07`` and ``coco``. Cheap to import: no torch here.
A protocol's version changes whenever its numbers would."""
from harness import hookimpl
from harness.api import EvaluatorInfo, ProtocolInfo, packaged_configs

PACKAGE = 'harness_deteval'


@hookimpl
def harness_register_evaluators(register):
    register(EvaluatorInfo(
        name='voc07',
        summary='PASCAL VOC 2007 detection: an mmdet Faster R-CNN fine-tuned from the backbone, '
                'tested on VOC2007 test',
        modality='image', dataset='voc07', splits=('test',), demo_pretrain='imagenet',
        protocols=(ProtocolInfo(
            name='finetune', version='1',
            summary='Faster R-CNN (ResNet C4 with res5 + extra BN as the RoI head, ResNet FPN, '
                    'or VGG-16) fine-tuned end to end, BN trained, no frozen stages, SSL '
                    'weights checked per module; VOCMetric 11-point AP50 and AP[.50:.95] of '
                    'the last model',
            configs=packaged_configs(PACKAGE, 'voc07_finetune',
                                     ('demo', 'paper', 'paper07', 'fpn_paper', 'vgg16_paper')),
            metrics=('AP50', 'AP'), implementation='harness_deteval.finetune:VocFinetune'),)))
    register(EvaluatorInfo(
        name='coco',
        summary='COCO 2017 detection: an mmdet Faster R-CNN fine-tuned from the backbone on '
                'train2017, tested on val2017',
        modality='image', dataset='coco', splits=('val2017',), demo_pretrain='imagenet',
        protocols=(ProtocolInfo(
            name='finetune', version='1',
            summary='Faster R-CNN (ResNet FPN or C4) fine-tuned end to end, BN trained, no '
                    'frozen stages, SSL weights checked per module; CocoMetric box AP, AP50, '
                    'AP75 of the last model (0 when nothing is detected). Box AP of a Faster '
                    'R-CNN: not comparable to the Mask R-CNN box AP that MoCo and mmselfsup '
                    'report (the record names the detector)',
            configs=packaged_configs(PACKAGE, 'coco_finetune', ('demo', 'paper', 'c4_paper')),
            metrics=('AP', 'AP50', 'AP75'),
            implementation='harness_deteval.finetune:CocoFinetune'),)))
