# BYOL on two clips of a video at paper scale (docs/methods.md §7): projector and predictor
# 4096-BN-ReLU-256, target EMA 0.996 (held fixed here: the cosine ramp to 1 is not part of the
# model), clips of 16 frames at 112 px (_base_/two_view_paper.py).
_base_ = ['./_base_/two_view_paper.py']

model = dict(type='BYOL',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=4096, dim=256, momentum=0.996)
