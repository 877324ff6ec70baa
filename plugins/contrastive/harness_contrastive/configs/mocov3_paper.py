# MoCo v3 on images at paper scale (Chen, Xie, He, ICCV 2021), ResNet-50 for 100 epochs as
# the official code trains it ([code] facebookresearch/moco-v3: CONFIG.md (the "ResNet-50,
# 100-epoch pre-training" command), main_moco.py (its defaults), moco/builder.py
# (MoCo_ResNet), moco/optimizer.py): projector 2048 -> 4096 -> 256 ending in a BN without
# affine parameters and predictor 256 -> 4096 -> 256 without a last BN, Linear layers without
# bias (the model's defaults, MoCoV3 in harness_contrastive/models.py), temperature 1.0,
# momentum 0.99 rising to 1 on a cosine (--moco-m-cos), LARS with lr 0.6 x batch / 256 (9.6 at
# batch 4096), weight decay 1e-6, 10 warm-up epochs and cosine decay; BYOL's asymmetric views
# at 224 px with crops of area 0.2-1 (--crop-min=.2). Batch 4096 = 16 processes x 256.
# Its LARS leaves every parameter of <= 1 dimension without weight decay and trust ratio; so
# does this one (byol_image_paper.py: BN and bias parameters without weight decay, which timm's
# LARS then does not adapt). BN over the whole batch of all processes (batch_norm below). Not as
# the official code: its ResNet zero-initialises the last BN of each residual block.
_base_ = ['./byol_image_paper.py']

model = dict(_delete_=True, type='MoCoV3',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.ResNet50'),
             # [code] facebookresearch/moco-v3: moco/builder.py (MoCo_ResNet: 2-layer projector
             # with a last BN, 2-layer predictor without; _build_mlp: Linear without bias)
             hidden_dim=4096, dim=256, momentum=0.99, temperature=1.0, projector_layers=2,
             predictor_last_bn=False)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleImageViews', views=dict(
        # crops of area 0.2-1: [code] facebookresearch/moco-v3: CONFIG.md (--crop-min=.2),
        # main_moco.py (RandomResizedCrop(224, scale=(args.crop_min, 1.)))
        view1=dict(size=224, augment=dict(
            scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1), blur=1.0)),
        view2=dict(size=224, augment=dict(
            scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1), blur=0.1,
            solarize=0.2)))),
    dict(type='PackInputs'),
]))
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=100)
optim_wrapper = dict(optimizer=dict(lr=9.6, weight_decay=1e-6))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, T_max=90,
         convert_to_iter_based=True),
]
# Across processes (harness/distributed.py; each value's source in the sources table): the whole model's BN synchronised
# (SyncBatchNorm), momentum encoder included, as the official code
batch_norm = 'global'
# the paper's batch of 4096, kept on fewer processes by gradient accumulation;
# --cfg-options paper_batch.scale_lr=True trains at the batch the processes give with the lr
# scaled by the paper's rule instead
paper_batch = dict(size=4096, lr_scaling='linear', scale_lr=False)
