"""Registers ``random``: the reference rows every SSL number is read against.

With no ``--config`` it does not pretrain: the evaluator starts from a randomly initialised
backbone (weights and BatchNorm statistics as initialised). ``--config bn_calibrated`` is the
BatchNorm-fair reference for protocols that run the backbone frozen: the same random weights
with BatchNorm statistics fitted on pretraining views and nothing else moved
(:class:`harness_random.model.BNCalibration`), recorded as the row 'random (bn_calibrated)'.
Its default backbone is the one the methods of the evaluator's kind default to (their demo
stand-in on demo data)."""
from harness import hookimpl
from harness.api import MethodInfo

SUMMARY = ('no pretraining: randomly initialised backbone (reference row); --config '
           'bn_calibrated: the same weights, BatchNorm statistics fitted on pretraining views')


CONFIGS = 'harness_random:configs/bn_calibrated_{}.py'


@hookimpl
def harness_register_methods(register):
    image = MethodInfo(name='random', summary=SUMMARY, modality='image',
                       configs={'bn_calibrated': CONFIGS.format('image')},
                       default_backbone='resnet50', reference=True)
    register(MethodInfo(name='random', summary=SUMMARY, modality='video',
                        configs={'bn_calibrated': CONFIGS.format('video')},
                        default_backbone='r3d18', reference=True, also=(image,)))
