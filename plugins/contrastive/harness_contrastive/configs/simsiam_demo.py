# SimSiam (docs/methods.md §7): projector 3 x 2048 ending in a BN without affine parameters,
# predictor 2048 -> 512 -> 2048, no EMA, the predictor's lr not decayed (facebookresearch/
# simsiam's --fix-pred-lr). Demo: projector 512 wide, predictor 512 -> 128 -> 512.
_base_ = ['./_base_/two_view_demo.py']

model = dict(type='SimSiam',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=512, dim=512, pred_dim=128)
optim_wrapper = dict(constructor='FixedLrOptimWrapperConstructor', fixed_lr=['predictor'])
