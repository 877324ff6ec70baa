"""Registers TransRank, its TransCls control, and the RecogTrans baselines it is compared with
(all on the same transformation sampler and head; docs/methods.md §1, §7).
Cheap to import: no torch here."""
from harness import hookimpl
from harness.api import MethodInfo, packaged_configs

TRANSRANK = ('Duan, Zhao, Chen, Lin, "TransRank: Self-supervised Video Representation Learning '
             'via Ranking-based Transformation Recognition", CVPR 2022, arXiv:2205.02028')

#: name -> (summary, config stem, citation)
METHODS = {
    'transrank': (
        "rank each transformation's score of the clip that received it above the other clips "
        'of the same video (margin ranking over the K x K score matrix), temporal + rotation',
        'transrank', TRANSRANK),
    'transrank-cls': (
        "TransRank's control (TransCls): same sampler and head, cross-entropy on each clip's row",
        'transrank_cls', TRANSRANK),
    'speednet': (
        'RecogTrans baseline: normal speed vs sped up (binary CE)', 'speednet',
        'Benaim et al., "SpeedNet: Learning the Speediness in Videos", CVPR 2020'),
    'aot': (
        'RecogTrans baseline: arrow of time, forward vs reversed (binary CE)',
        'aot',
        'Wei et al., "Learning and Using the Arrow of Time", CVPR 2018'),
    'rotnet3d': (
        'RecogTrans baseline: 4-way rotation of the clip (CE)', 'rotnet3d',
        'Jing & Tian, "Self-supervised Spatiotemporal Feature Learning via Video Rotation '
        'Prediction", arXiv:1811.11387, 2018'),
    'pace': (
        'RecogTrans baseline: pace class 1x-5x (CE; the optional contrastive term is not '
        'included)', 'pace',
        'Wang, Jiao, Liu, "Self-supervised Video Representation Learning by Pace Prediction", '
        'ECCV 2020'),
    'rtt': (
        'RecogTrans baseline: speed 1x-8x, periodic, random order, warp (one CE over the union '
        'of these labels)', 'rtt',
        'Jenni, Meishvili, Favaro, "Video Representation Learning by Recognizing Temporal '
        'Transformations", ECCV 2020'),
}


@hookimpl
def harness_register_methods(register):
    for name, (summary, stem, citation) in METHODS.items():
        register(MethodInfo(name=name, summary=summary, modality='video',
                            configs=packaged_configs('harness_transrank', stem),
                            default_backbone='r3d18', citation=citation))
