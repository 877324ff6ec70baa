# TransRank pretraining, demo schedule. Paper (specs/methods.md §1, §8): K = 3 temporal
# transformations {1x, 2x, 4x} (or {1x, 2x, reverse}), optional 4-way rotation, margin 1,
# speed jitter U(0.8, 1.2), clip-wise augmentation, MLP head (512 hidden), 16 x 112 px.
# Demo: 8 frames at 32 px. The harness sets model.backbone, model.feat_dim, the data and seed.
_base_ = ['../_base_/pretrain_runtime.py']

temporal = ['1x', '2x', '4x']

model = dict(type='TransRank', backbone=None, feat_dim=None, num_temporal=len(temporal),
             rotation=True, loss='rank', margin=1.0, hidden_dim=512)

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='VideoListDataset', data_root=None, ann_file=None,
        pipeline=[
            dict(type='SampleTransformedClips', temporal=temporal, frames=8, size=32,
                 jitter=(0.8, 1.2), rotation=True,
                 augment=dict(scale=(0.5, 1.0), color=0.8, grayscale=0.2)),
            dict(type='PackInputs'),
        ],
    ),
)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=40)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=5, T_max=35),
]
