# The demo scale of the transformation-recognition methods (TransRank, TransCls, SpeedNet, AoT,
# 3D-RotNet, Pace, RTT): one sampler at 8 frames x 32 px and one schedule. Clip-wise
# augmentation: crop area 0.5-1, colour p 0.8, grey p 0.2, drawn per clip. A method's config
# takes this file and its method's _base_/models/<method>.py (the model and the set of
# transformations, which the config puts into this sampler).
# The harness runs it over its pretraining runtime (harness/configs/_base_/pretrain_runtime.py:
# logging, checkpoints, the core's imports, the train_dataloader's sampler and loader) and sets
# model.backbone (--backbone), model.feat_dim, the dataset's data_root and ann_file
# (--pretrain-data) and the seed; `harness run --dry-run` prints the merged config.
custom_imports = dict(imports=['harness_transrank.model', 'harness_transrank.sampler',
                               'harness_backbones.video'])

train_dataloader = dict(
    batch_size=4,
    dataset=dict(pipeline=[
        dict(type='SampleTransformedClips', temporal=['1x', '2x', '4x'], frames=8, size=32,
             jitter=(0.8, 1.2), rotation=False, clips_per_video=None,
             augment=dict(scale=(0.5, 1.0), color=0.8, grayscale=0.2)),
        dict(type='PackInputs'),
    ]),
)

# The schedule was chosen on a validation demo (the UCF101 demo generated with seed 1), never
# on the demo's test split, with experiments/demo_signal.py (320 test videos, the probe fit on
# 4 disjoint sets of 8 labels per class): TransRank's linear probe top-1 on the demo backbone
# (r3d18-slim, about 9 steps a second on 2 cores) after 400 steps 35.9% (seed 0), after 1200
# steps 47.0% and 39.3% (seeds 0, 1); random init 35.3% (seeds 0-2 within 0.4). One schedule
# for the whole family, so TransRank and its RecogTrans baselines train on equal terms. The
# rotation ranking stays at chance (loss about 1.0 = the margin: the demo's shapes are
# symmetric and its scenes have no "up"); the speed ranking is what learns.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1200)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=5, T_max=1195),
]
