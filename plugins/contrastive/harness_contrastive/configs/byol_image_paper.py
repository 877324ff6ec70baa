# BYOL on images at paper scale (Grill et al. 2020; docs/methods.md §7): ResNet-50, projector
# and predictor 4096-BN-ReLU-256, target EMA 0.996 rising to 1 on a cosine, LARS (lr 0.2 x
# batch / 256 = 3.2 at batch 4096, weight decay 1.5e-6, 10 warm-up epochs, cosine decay),
# 1000 epochs; the asymmetric views of byol_image_demo.py at 224 px. Batch 4096 = 16 processes
# x 256.
_base_ = ['./_base_/two_view_image_paper.py']

model = dict(type='BYOL',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=4096, dim=256, momentum=0.996)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleImageViews', views=dict(
        view1=dict(size=224, augment=dict(
            scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1), blur=1.0)),
        view2=dict(size=224, augment=dict(
            scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1), blur=0.1,
            solarize=0.2)))),
    dict(type='PackInputs'),
]))
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=1000)
# biases and BN parameters without weight decay, as in BYOL
optim_wrapper = dict(optimizer=dict(_delete_=True, type='LARS', lr=3.2, momentum=0.9,
                                    weight_decay=1.5e-6),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, T_max=990,
         convert_to_iter_based=True),
]
custom_hooks = [dict(type='ProgressBarHook', desc='pretrain'),
                dict(type='CosineMomentumHook', end=1.0)]
auto_scale_lr = dict(base_batch_size=4096, enable=False)
# Across processes (harness/distributed.py; each value's source in the sources table): cross-replica BN over the whole batch of
# all processes, online and target networks
batch_norm = 'global'
# the paper's batch of 4096, kept on fewer processes by gradient accumulation;
# --cfg-options paper_batch.scale_lr=True trains at the batch the processes give with the lr
# scaled by the paper's rule instead
paper_batch = dict(size=4096, lr_scaling='linear', scale_lr=False)
