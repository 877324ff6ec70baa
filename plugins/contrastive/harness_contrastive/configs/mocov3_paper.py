# MoCo v3 on images at paper scale (Chen, Xie, He, ICCV 2021), ResNet-50 for 100 epochs as
# the facebookresearch/moco-v3 README gives it (from memory, to verify against the README):
# projector 3 layers and predictor 2 layers of 4096 with BN, 256-d, temperature 1.0, momentum
# 0.99 rising to 1 on a cosine, LARS with lr 0.6 x batch / 256 (9.6 at batch 4096), weight
# decay 1e-6, 10 warm-up epochs and cosine decay; BYOL's asymmetric views at 224 px.
# Batch 4096 = 16 processes x 256.
_base_ = ['./byol_image_paper.py']

model = dict(_delete_=True, type='MoCoV3',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=4096, dim=256, momentum=0.99, temperature=1.0)
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=100)
optim_wrapper = dict(optimizer=dict(lr=9.6, weight_decay=1e-6))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, T_max=90,
         convert_to_iter_based=True),
]
