# Two clips of one video at independent random times, each augmented on its own (MoCo v2 /
# BYOL / SimSiam style, with blur), demo size 8 frames x 32 px. Method configs set `model`.
# The harness runs it over its pretraining runtime (harness/configs/_base_/pretrain_runtime.py:
# logging, checkpoints, the core's imports, the train_dataloader's sampler and loader) and sets
# model.backbone (--backbone), model.feat_dim, the dataset's data_root and ann_file
# (--pretrain-data) and the seed; `harness run --dry-run` prints the merged config.
custom_imports = dict(imports=['harness_contrastive.models', 'harness_backbones.video'])

train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        pipeline=[
            dict(type='SampleViews',
                 views=dict(view1=dict(frames=8, stride=2, size=32, augment=dict(blur=0.5)),
                            view2=dict(frames=8, stride=2, size=32, augment=dict(blur=0.5))),
                 placement='independent'),
            dict(type='PackInputs'),
        ],
    ),
)

# 300 steps: on the demo backbone (r3d18-slim) about the pretraining time BraVe's demo gets, so
# the demo compares methods at a similar budget (not tuned per method).
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=5, T_max=295),
]
