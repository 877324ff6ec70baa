# SimSiam (docs/methods.md §7): projector 3 x 2048 + BN, predictor 2048 -> 512 -> 2048, no EMA.
# Demo: projector 512 wide, predictor 512 -> 128 -> 512.
_base_ = ['./_base_/two_view_demo.py']

model = dict(type='SimSiam',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=512, dim=512, pred_dim=128)
