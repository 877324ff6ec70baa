"""Registers the video evaluators ucf101, hmdb51 and temporal. Cheap to import: no torch or
mmaction2 here. Protocols are defined in docs/methods.md §0; a protocol's version changes
whenever its numbers would."""
from harness import hookimpl
from harness.api import EvaluatorInfo, ProtocolInfo, packaged_configs

PACKAGE = 'harness_videoeval'
#: On demo data, video methods pretrain on the larger unlabelled demo Kinetics-400.
DEMO_PRETRAIN = 'kinetics400'


def action_protocols() -> tuple[ProtocolInfo, ...]:
    return (
        ProtocolInfo(
            name='finetune', version='1',
            summary='mmaction2 Recognizer3D, all layers trained from the SSL backbone, '
                    'multi-clip x multi-crop test (softmax averaged), top-1/top-5',
            configs=packaged_configs(PACKAGE, 'finetune'), metrics=('top1', 'top5'),
            implementation='harness_videoeval.finetune:Finetune'),
        ProtocolInfo(
            name='linear', version='1',
            summary='frozen backbone, standardized pooled features of uniformly spaced clips, '
                    'logistic regression, clip probabilities averaged, top-1',
            configs=packaged_configs(PACKAGE, 'linear'), metrics=('top1',),
            implementation='harness_videoeval.linear:LinearClassifier'),
        ProtocolInfo(
            name='svm', version='1',
            summary="BraVe's classifier: frozen backbone, standardized features of uniformly "
                    'spaced clips (BraVe: augmented random train clips), LinearSVC(C), clip '
                    'decision values averaged, top-1',
            configs=packaged_configs(PACKAGE, 'svm'), metrics=('top1',),
            implementation='harness_videoeval.linear:LinearClassifier'),
        ProtocolInfo(
            name='retrieval', version='1',
            summary='split 1: mean feature of 10 uniformly spaced clips per video, cosine '
                    'from test to train videos, R@1/5/10/20/50',
            configs=packaged_configs(PACKAGE, 'retrieval'),
            metrics=('R@1', 'R@5', 'R@10', 'R@20', 'R@50'), splits=('1',),
            implementation='harness_videoeval.retrieval:Retrieval'),
    )


@hookimpl
def harness_register_evaluators(register):
    register(EvaluatorInfo(
        name='ucf101', summary='UCF101 action recognition (101 classes, official splits)',
        modality='video', dataset='ucf101', splits=('1', '2', '3'), demo_pretrain=DEMO_PRETRAIN,
        protocols=action_protocols()))
    register(EvaluatorInfo(
        name='hmdb51', summary='HMDB51 action recognition (51 classes, official 70/30 splits)',
        modality='video', dataset='hmdb51', splits=('1', '2', '3'), demo_pretrain=DEMO_PRETRAIN,
        protocols=action_protocols()))
    register(EvaluatorInfo(
        name='temporal',
        summary='temporal probes on frozen features: clip order, clip overlap (sync), motion',
        modality='video', dataset='ucf101', splits=('1', '2', '3'), demo_pretrain=DEMO_PRETRAIN,
        protocols=(
            ProtocolInfo(name='order', version='1',
                         summary='which of two non-overlapping clips of a video comes first '
                                 '(binary, linear probe on the pair of features)',
                         configs=packaged_configs(PACKAGE, 'temporal'), metrics=('accuracy',),
                         implementation='harness_videoeval.temporal:Order'),
            ProtocolInfo(name='sync', version='1',
                         summary='the overlap pattern of two overlapping clips of a video '
                                 '(linear probe on the pair of features)',
                         configs=packaged_configs(PACKAGE, 'temporal'), metrics=('accuracy',),
                         implementation='harness_videoeval.temporal:Sync'),
            ProtocolInfo(name='motion', version='1',
                         summary="the video's labelled motion type (linear probe), where the "
                                 'dataset labels one (motionLabels.txt; the demo data does)',
                         configs=packaged_configs(PACKAGE, 'temporal'), metrics=('accuracy',),
                         implementation='harness_videoeval.temporal:Motion'),
        )))
