# MoCo v2 (docs/methods.md §7): K = 65536, m = 0.999, t = 0.2, MLP head 2048 -> 128.
# Demo: a queue of 256 keys (the demo Kinetics-400 pretraining set has 160 videos), m = 0.99,
# hidden 512.
_base_ = ['./_base_/two_view_demo.py']

model = dict(type='MoCo',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=512, dim=128,
             queue_size=256, momentum=0.99, temperature=0.2)
