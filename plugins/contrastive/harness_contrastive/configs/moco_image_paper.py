# MoCo v2 on images at paper scale (Chen, Fan, Girshick, He 2020; docs/methods.md §7):
# ResNet-50, queue K = 65536, key EMA m = 0.999, temperature 0.2, MLP head 2048 -> 128, SGD
# lr 0.03 at batch 256 (momentum 0.9, weight decay 1e-4), cosine over 200 epochs; MoCo v2's
# views at 224 px (_base_/two_view_image_paper.py). Shuffle-BN across processes under DDP; in
# one process its substitute, bn_groups (see MoCo in harness_contrastive/models.py).
_base_ = ['./_base_/two_view_image_paper.py']

model = dict(type='MoCo',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=2048, dim=128, queue_size=65536, momentum=0.999, temperature=0.2,
             # in one process, BN over 8 sub-batches of 32 images as the official run's 8 GPUs
             # of 32: [code] facebookresearch/moco: README.md (8 GPUs, --batch-size 256),
             # moco/builder.py (_batch_shuffle_ddp) at 7397dfe
             bn_groups=8)
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=200)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.03, momentum=0.9,
                                    weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0,
                        T_max=200)]
auto_scale_lr = dict(base_batch_size=256, enable=False)
# Across processes (harness/distributed.py; each value's source in the sources table): per-process BN, the key batch
# shuffled across processes (shuffle-BN; in one process its substitute, bn_groups)
batch_norm = 'per_process_shuffled'
# the paper's batch of 256, kept on fewer processes by gradient accumulation;
# --cfg-options paper_batch.scale_lr=True trains at the batch the processes give with the lr
# scaled by the paper's rule instead
paper_batch = dict(size=256, lr_scaling='linear', scale_lr=False)
