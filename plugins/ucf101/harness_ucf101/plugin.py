"""Registers the ucf101 evaluator. Cheap to import: no torch or mmaction2 here."""
from harness import hookimpl
from harness.api import EvaluatorInfo, ProtocolInfo


@hookimpl
def harness_register_evaluators(register):
    register(EvaluatorInfo(
        name='ucf101',
        summary='UCF101 action recognition (101 classes, official splits)',
        data='video',
        dataset='ucf101',
        splits=('1', '2', '3'),
        protocols=(
            ProtocolInfo(
                name='finetune', version='1',
                summary='mmaction2 Recognizer3D, all layers trained from the SSL backbone, '
                        'multi-clip test (softmax averaged), top-1/top-5',
                config='ucf101/finetune_demo.py', metrics=('top1', 'top5')),
        ),
        evaluator='harness_ucf101.finetune:FinetuneEvaluator',
    ))
