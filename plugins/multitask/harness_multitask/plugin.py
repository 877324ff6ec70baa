"""Registers Multi-task SSL. Cheap to import: no torch here."""
from harness import hookimpl
from harness.api import MethodInfo, packaged_configs

#: its named configs: the joint network (demo, paper), the lasso variant and each task alone
CONFIGS = ('demo', 'paper', 'lasso_demo', 'relative_position_demo', 'colorization_demo',
           'exemplar_demo', 'motion_demo')
#: the ResNets whose stages the heads (and the lasso) read
RESNETS = ('resnet18', 'resnet50', 'resnet18-slim')


@hookimpl
def harness_register_methods(register):
    register(MethodInfo(
        name='multitask',
        summary='one ResNet trunk, heads for relative position, colorization, exemplar and '
                'motion segmentation, losses summed; grey inputs and the lasso as options; '
                'all tasks sample frames of the pretraining videos',
        modality='image',
        reads='video',
        demo_pretrain='kinetics400',
        configs=packaged_configs('harness_multitask', 'multitask', CONFIGS),
        default_backbone='resnet50',
        backbones=RESNETS,
        citation='Doersch, Zisserman, "Multi-task Self-Supervised Visual Learning", ICCV 2017, '
                 'arXiv:1708.07860',
    ))
