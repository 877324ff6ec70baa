# Multi-task SSL (Doersch & Zisserman, ICCV 2017; docs/methods.md §6), demo size: the joint
# network, four tasks on one ResNet trunk, losses summed with weight 1 each, no lasso, no
# harmonisation (model.harmonize=True greys every input; multitask_lasso_demo.py is the
# lasso). Every task samples one frame of the pretraining videos (the Kinetics-400 demo: 80 x 80, so
# frame_size 80 keeps the decoded size); the paper took relative position, colorization and
# exemplar from ImageNet images and only motion segmentation from videos.
#   relative position: 20-px patches of a 3 x 3 grid with 8-px gaps and +-2 px jitter (the
#     grid and its jitter fill the 80-px frame), grey, 8-way cross-entropy;
#   colorization: the L channel of a random 64-px crop in, its ab bins (grid 10) on a 16 x 16
#     grid out, per-cell cross-entropy;
#   exemplar: two heavily augmented 56-px views of one random 64-px crop (crop 0.2-1 of it,
#     flip, strong colour jitter, grey 0.2, blur 0.5; augmented batched on the device),
#     triplet loss with margin 0.5 against the other crops of the batch;
#   motion: a random 64-px crop of the frame in, its moving pixels (Farneback flow to the next
#     frame, more than 1 px against the frame's median flow) on a 16 x 16 grid out,
#     per-cell sigmoid cross-entropy.
# Heads read the top stage (layer4); hidden width 128, exemplar embedding 128-d.
# The harness runs it over its pretraining runtime (harness/configs/_base_/pretrain_runtime.py:
# logging, checkpoints, the core's imports, the train_dataloader's sampler and loader) and sets
# model.backbone (--backbone; resnet18-slim on demo data), model.feat_dim, the dataset's
# data_root and ann_file (--pretrain-data; the kinetics400 demo by default) and the seed;
# `harness run --dry-run` prints the merged config.
custom_imports = dict(imports=['harness_multitask.sampling', 'harness_multitask.model',
                               'harness_backbones.image'])

model = dict(
    type='MultiTask',
    data_preprocessor=dict(type='harness.AugmentViews'),  # exemplar views, on the device
    backbone=dict(type='harness.ResNet50'),  # set by the harness (--backbone)
    tasks=('relative_position', 'colorization', 'exemplar', 'motion'),
    hidden_dim=128,
    layers=('layer4',),  # the stage every head reads
    lasso=False,
    harmonize=False,  # True: every task's input grey (colorization always gets L)
    colour_grid=10.0,  # the sampler's colorization grid
    embed_dim=128,
    exemplar_margin=0.5,
)

train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        pipeline=[
            dict(type='SampleMultitask', frame_size=80,
                 relative_position=dict(patch=20, gap=8, jitter=2),
                 colorization=dict(size=64, target=16, grid=10.0, min_chroma=3.0),
                 exemplar=dict(crop=64, view=dict(size=56, augment=dict(
                     scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), flip=0.5, color=1.0,
                     jitter=(0.4, 0.4, 0.4, 0.1), grayscale=0.2, blur=0.5))),
                 motion=dict(size=64, target=16, gap=1, threshold=1.0)),
            dict(type='PackInputs'),
        ],
    ),
)

# 250 steps of batch 16
train_cfg = dict(type='IterBasedTrainLoop', max_iters=250)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, T_max=240),
]
