"""Registers transrank and transrank-cls (the same sampler and head, CE instead of ranking).
Cheap to import: no torch here."""
from harness import hookimpl
from harness.api import MethodInfo

CITATION = ('Duan, Zhao, Chen, Lin, "TransRank: Self-supervised Video Representation Learning '
            'via Ranking-based Transformation Recognition", CVPR 2022, arXiv:2205.02028')


@hookimpl
def harness_register_methods(register):
    register(MethodInfo(
        name='transrank',
        summary='rank each transformation\'s score of the clip that received it above the other '
                'clips of the same video (margin ranking over the K x K score matrix)',
        data='video', config='transrank/transrank_demo.py', default_backbone='r3d18',
        imports=('harness_transrank.model',), citation=CITATION))
    register(MethodInfo(
        name='transrank-cls',
        summary='TransRank\'s control: same sampler and head, cross-entropy on each clip\'s row',
        data='video', config='transrank/transrank_cls_demo.py', default_backbone='r3d18',
        imports=('harness_transrank.model',), citation=CITATION))
