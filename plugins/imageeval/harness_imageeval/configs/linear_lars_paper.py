# Linear probe of mmpretrain's SimCLR / BYOL / SimSiam benchmarks at paper scale
# (open-mmlab/mmpretrain configs/{simclr,byol,simsiam}/benchmarks/
# resnet50_8xb512-linear-coslr-90e_in1k.py with _base_/schedules/imagenet_lars_coslr_90e.py;
# docs/image-evals.md §5): the frozen backbone's pooled features, Linear N(0, 0.01) with bias 0
# (mmpretrain's LinearClsHead), LARS lr 1.6 (momentum 0.9, trust coefficient 0.001 on every
# parameter, as mmpretrain's LARS; timm's Lars needs always_adapt for that at weight decay 0),
# weight decay 0, batch 4096, cosine over 90 epochs (stepped per epoch); views and test crops as
# linear_paper.py.
# Batch 4096 = 8 processes x 512.
_base_ = ['./linear_paper.py']

train_dataloader = dict(batch_size=512)
train_cfg = dict(max_epochs=90)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='LARS', lr=1.6, momentum=0.9,
                                    weight_decay=0.0, trust_coeff=0.001, always_adapt=True))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=90, T_max=90)]
auto_scale_lr = dict(base_batch_size=4096, enable=False)
