# SimSiam on two clips of a video at paper scale (docs/methods.md §7): projector 3 x 2048 + BN,
# predictor 2048 -> 512 -> 2048, no EMA, SGD lr 0.05 x batch / 256, weight decay 1e-4, cosine;
# clips of 16 frames at 112 px (_base_/two_view_paper.py).
_base_ = ['./_base_/two_view_paper.py']

model = dict(type='SimSiam',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=2048, dim=2048, pred_dim=512)
optim_wrapper = dict(optimizer=dict(lr=0.05 * 64 / 256))
