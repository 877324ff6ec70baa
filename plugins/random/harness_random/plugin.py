"""Registers ``random``: no pretraining, the evaluator starts from a randomly initialised
backbone. Every SSL number is read against it."""
from harness import hookimpl
from harness.api import MethodInfo


@hookimpl
def harness_register_methods(register):
    register(MethodInfo(
        name='random',
        summary='no pretraining: randomly initialised backbone (reference row)',
        data='any',
        configs={},
        default_backbone='r3d18',
    ))
