# SimCLR on images at paper scale (Chen, Kornblith, Norouzi, Hinton 2020; docs/methods.md §7):
# ResNet-50, projector 2048 -> 2048 (BN, ReLU) -> 128 (BN with a learned scale and no offset;
# Linear layers without bias: the model, SimCLR in harness_contrastive/models.py, [code]
# google-research/simclr: model_util.py (projection_head, linear_layer; SimCLR v1 code at
# be133b3)), NT-Xent at temperature 0.1 with the other processes' projections gathered with
# their gradient, LARS (lr 0.3 x batch / 256 = 4.8 at batch 4096, weight decay 1e-6, 10
# warm-up epochs, cosine decay), 100 epochs; SimCLR's views (simclr_demo.py) at 224 px.
# Batch 4096 = 16 processes x 256, BN global over the whole batch (batch_norm, paper_batch
# below). Not as the official code: its loss is the sum of the two views' cross-entropies
# (objective.py: loss_a + loss_b), here their mean (half the gradient).
_base_ = ['./_base_/two_view_image_paper.py']

model = dict(type='SimCLR',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=2048, dim=128, temperature=0.1)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleImageViews', views=dict(
        view1=dict(size=224, augment=dict(
            scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.8, 0.8, 0.8, 0.2), blur=0.5)),
        view2=dict(size=224, augment=dict(
            scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.8, 0.8, 0.8, 0.2),
            blur=0.5)))),
    dict(type='PackInputs'),
]))
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=100)
# biases and BN parameters without weight decay, as in SimCLR
optim_wrapper = dict(optimizer=dict(_delete_=True, type='LARS', lr=4.8, momentum=0.9,
                                    weight_decay=1e-6),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, T_max=90,
         convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=4096, enable=False)
# Across processes (harness/distributed.py; each value's source in the sources table): BN statistics over the whole batch of
# all processes (the official global_bn)
batch_norm = 'global'
# the paper's batch of 4096, kept on fewer processes by gradient accumulation;
# --cfg-options paper_batch.scale_lr=True trains at the batch the processes give with the lr
# scaled by the paper's rule instead
paper_batch = dict(size=4096, lr_scaling='linear', scale_lr=False)
