# SimSiam on images at paper scale (Chen & He 2021; docs/methods.md §7), as the official code
# trains it ([code] facebookresearch/simsiam: README.md (the pre-training command),
# main_simsiam.py, simsiam/builder.py): ResNet-50; projector 3 x 2048 ending in a BN without
# affine parameters and predictor 2048 -> 512 (no bias) -> 2048 (the model, SimSiam in
# harness_contrastive/models.py); no EMA; SGD lr 0.05 x batch / 256 (batch 512: 0.1; momentum
# 0.9, weight decay 1e-4), cosine over 100 epochs, stepped per epoch; the predictor's lr fixed
# at 0.1 (--fix-pred-lr); MoCo v2's views at 224 px (_base_/two_view_image_paper.py).
# Batch 512 = 2 processes x 256, BN synchronised over the whole batch (batch_norm,
# paper_batch below).
_base_ = ['./_base_/two_view_image_paper.py']

model = dict(type='SimSiam',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=2048, dim=2048, pred_dim=512)
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=100)
optim_wrapper = dict(
    # the predictor's lr is not decayed: [code] facebookresearch/simsiam: README.md
    # (--fix-pred-lr), main_simsiam.py (fix_lr param group)
    constructor='FixedLrOptimWrapperConstructor', fixed_lr=['predictor'],
    optimizer=dict(_delete_=True, type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0,
                        T_max=100)]
auto_scale_lr = dict(base_batch_size=512, enable=False)
# Across processes (harness/distributed.py; each value's source in the sources table): the whole model's BN synchronised
# (SyncBatchNorm), as the official code
batch_norm = 'global'
# the paper's batch of 512, kept on fewer processes by gradient accumulation;
# --cfg-options paper_batch.scale_lr=True trains at the batch the processes give with the lr
# scaled by the paper's rule instead
paper_batch = dict(size=512, lr_scaling='linear', scale_lr=False)
