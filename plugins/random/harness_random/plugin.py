"""Registers ``random``: no pretraining, the evaluator starts from a randomly initialised
backbone. Every SSL number is read against it, so its default backbone is the one the methods
of the evaluator's kind default to (their demo stand-in on demo data)."""
from harness import hookimpl
from harness.api import MethodInfo

SUMMARY = 'no pretraining: randomly initialised backbone (reference row)'


@hookimpl
def harness_register_methods(register):
    register(MethodInfo(
        name='random', summary=SUMMARY, modality='video', configs={}, default_backbone='r3d18',
        also=(MethodInfo(name='random', summary=SUMMARY, modality='image', configs={},
                         default_backbone='resnet50'),)))
