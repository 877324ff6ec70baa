# SimSiam on images (docs/methods.md §7), demo size: the views of _base_/two_view_image_demo.py
# (SimSiam uses MoCo v2's recipe), the predictor's lr not decayed (facebookresearch/simsiam's
# --fix-pred-lr). Demo: projector 512 wide, predictor 512 -> 128 -> 512.
_base_ = ['./_base_/two_view_image_demo.py']

model = dict(type='SimSiam',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=512, dim=512, pred_dim=128)
optim_wrapper = dict(constructor='FixedLrOptimWrapperConstructor', fixed_lr=['predictor'])
