# BYOL (docs/methods.md §7): projector/predictor 4096-BN-ReLU-256, EMA 0.996 -> 1.
# Demo: hidden 512, 128-d, fixed EMA 0.99.
_base_ = ['./_base_/two_view_demo.py']

model = dict(type='BYOL',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=512, dim=128, momentum=0.99)
