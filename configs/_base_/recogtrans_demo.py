# Shared by the transformation-recognition methods (TransRank, TransCls, SpeedNet, AoT,
# 3D-RotNet, Pace, RTT): one sampler, one head design; each method config sets its
# transformation set, loss and sampler step. Demo: 8 frames at 32 px.
_base_ = ['./pretrain_runtime.py']

clip_augment = dict(scale=(0.5, 1.0), color=0.8, grayscale=0.2)  # drawn per clip

model = dict(type='TransformationRecognizer', backbone=None, feat_dim=None, num_temporal=None,
             rotation=False, loss='ce', margin=1.0, hidden_dim=512)

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='VideoListDataset', data_root=None, ann_file=None, pipeline=None),
)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=40)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=5, T_max=35),
]
