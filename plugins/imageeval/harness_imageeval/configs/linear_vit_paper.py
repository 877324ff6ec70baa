# Linear probe of MAE and SiameseIM for ViTs at paper scale (facebookresearch/mae
# main_linprobe.py; OpenGVLab/Siamese-Image-Modeling main_linprobe.py and configs/linprobe/;
# docs/image-evals.md §5): BatchNorm1d(affine=False, eps=1e-6) then Linear (trunc_normal std
# 0.01, bias 0) on the pooled patch tokens of the frozen backbone; LARS (momentum 0.9, trust
# coefficient 0.001 on the weight, none on the bias, as MAE's util/lars.py) at base lr 0.1 x
# batch / 256 = 6.4 for batch 16384, weight decay 0, 90 epochs: 10 epochs of linear warm-up
# (from 1e-3 x lr; MAE starts at 0) then a half-cycle cosine to 0, per iteration; views and test
# crops as linear_paper.py (MAE resizes bicubic at test, mmcv bilinear here). The harness ViTs
# pool their normalised patch tokens (MAE pools the tokens, then a fresh LayerNorm).
# Batch 16384 = 32 processes x 512 (MAE: 4 nodes x 8 GPUs x 512).
_base_ = ['./linear_paper.py']

model = dict(head=dict(batchnorm=True, init='trunc_normal', std=0.01))
train_dataloader = dict(batch_size=512)
train_cfg = dict(max_epochs=90)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='LARS', lr=6.4, momentum=0.9,
                                    weight_decay=0.0, trust_coeff=0.001, always_adapt=True),
                     paramwise_cfg=dict(custom_keys={'bias': dict(always_adapt=False)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, end=90, T_max=80, eta_min=0.0,
         convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=16384, enable=False)
