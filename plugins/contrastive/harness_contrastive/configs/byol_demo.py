# BYOL (docs/methods.md §7): projector/predictor 4096-BN-ReLU-256, EMA 0.996 -> 1 on a cosine.
# Demo: hidden 512, 128-d, target EMA from 0.99 rising to 1 on a cosine over the 300 steps
# (CosineMomentumHook, as byol_image_demo.py).
_base_ = ['./_base_/two_view_demo.py']

model = dict(type='BYOL',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=512, dim=128, momentum=0.99)
custom_hooks = [dict(type='ProgressBarHook', desc='pretrain'),
                dict(type='CosineMomentumHook', end=1.0)]
