# BYOL on two clips of a video at paper scale (docs/methods.md §7): projector and predictor
# 4096-BN-ReLU-256, target EMA from 0.996 rising to 1 on a cosine over the run (BYOL's
# schedule, CosineMomentumHook, as byol_image_paper.py), clips of 16 frames at 112 px
# (_base_/two_view_paper.py).
_base_ = ['./_base_/two_view_paper.py']

model = dict(type='BYOL',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=4096, dim=256, momentum=0.996)
# the target EMA 1 - (1 - 0.996) (cos(pi k / K) + 1) / 2 at iteration k of K: [paper] Grill
# et al. 2020, implementation details, "Optimization" (tau_base = 0.996, increased to 1)
custom_hooks = [dict(type='ProgressBarHook', desc='pretrain'),
                dict(type='CosineMomentumHook', end=1.0)]
# Across processes (harness/distributed.py; each value's source in the sources table): cross-replica BN, as BYOL's official code
batch_norm = 'global'
