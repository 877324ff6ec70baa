# MoCo v3 on images (Chen, Xie, He, ICCV 2021), demo size: BYOL's asymmetric views (crops of
# area 0.08-1, colour jitter (0.4, 0.4, 0.2, 0.1) p 0.8, grey p 0.2, blur p 1.0 / 0.1,
# solarize p 0 / 0.2), queries against the momentum encoder's keys of the other view with the
# batch as negatives, temperature 1.0 (ResNet) and the momentum from 0.99 to 1 on a cosine.
# Demo: projector/predictor 512 wide, 128-d.
_base_ = ['./byol_image_demo.py']

model = dict(_delete_=True, type='MoCoV3',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=512, dim=128, momentum=0.99, temperature=1.0)
