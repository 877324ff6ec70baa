# Multi-task SSL at paper scale (Doersch & Zisserman, ICCV 2017; docs/methods.md §6): the
# joint network, four tasks, losses summed with weight 1 each, the plain multi-head network
# (model.lasso=True with several layers is the lasso, model.harmonize=True the grey inputs;
# which combination gave the paper's best number is [mem] in docs/methods.md §6c).
# Known from docs/methods.md (recalled, [unverified]): the trunk is a ResNet-101 v2 taken up to
# block 3 ("conv4"), so the heads read layer3 here, and `backbone_stage` cuts the backbone after
# layer3: layer4, which no loss reaches, does not exist, neither in pretraining nor in the
# exported weights nor in any evaluation (kNN and linear pool layer3, 1024-d on ResNet-50;
# NYUv2 dilates layer3 to stride 8; C4 detection takes layer1-3 as its trunk and trains a
# randomly initialised res5 head; FPN detection is refused). The record names the backbone
# '<name>-to-layer3'. The harness has no ResNet-101 v2, the default backbone is torchvision's
# ResNet-50 (v1).
# The tasks' sizes are the original task papers' as recalled, not checked ([mem]): relative
# position (Doersch 2015) 96-px patches, 48-px gaps, up to 7 px jitter, in images of
# 150K-450K pixels, so frames are brought to a 400-px shorter side here (the grid needs 398);
# colorization (Zhang 2016) 224-px L input, ab bins of grid 10 predicted at a quarter of the
# resolution (56 x 56). Unknown: the exemplar and motion input sizes (224 here, targets
# 56 x 56), the motion frame gap and flow threshold (the paper used Pathak's uNLC masks, not
# flow), the heads' widths (512 here), the exemplar margin (0.5), and the optimiser, batch
# size and schedule (the paper trained asynchronously, each worker on one task): the SGD,
# batch 256 and 100k iterations below are placeholders.
_base_ = ['./multitask_demo.py']

# the last backbone stage the heads (so the losses) reach: the harness cuts the backbone after
# it, in pretraining and in every evaluation of its weights
backbone_stage = 'layer3'  # [unverified] docs/methods.md §6a: the trunk up to block 3 ("conv4")

model = dict(
    data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
    backbone=dict(type='harness.ResNet50'),
    hidden_dim=512,  # unknown
    layers=('layer3',),  # the paper's trunk ends at block 3
)

train_dataloader = dict(
    batch_size=256,  # unknown
    num_workers=8,
    pin_memory=True,
    dataset=dict(pipeline=[
        dict(type='SampleMultitask', frame_size=400,
             relative_position=dict(patch=96, gap=48, jitter=7),  # [mem]
             colorization=dict(size=224, target=56, grid=10.0, min_chroma=3.0),  # [mem]
             # [unverified] each view cut from the 256-px crop and resized to 224 once
             exemplar=dict(crop=256, view=dict(size=224, augment=dict(
                 scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), flip=0.5, color=1.0,
                 jitter=(0.4, 0.4, 0.4, 0.1), grayscale=0.2, blur=0.5))),  # unknown
             motion=dict(size=224, target=56, gap=1, threshold=1.0)),  # unknown
        dict(type='PackInputs'),
    ]),
)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=100000)  # unknown
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.1, momentum=0.9,
                                    weight_decay=1e-4))  # unknown
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=2000),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=2000, T_max=98000),
]
default_hooks = dict(checkpoint=dict(interval=5000), logger=dict(interval=50))
# the fixed image shapes let cuDNN pick its fastest convolutions
env_cfg = dict(cudnn_benchmark=True)
# Across processes (harness/distributed.py; each value's source in the sources table): per-process BN
# (unknown: no official code; the paper trained asynchronously)
batch_norm = 'per_process'
