# SimSiam on two clips of a video at paper scale (docs/methods.md §7): the image recipe of
# facebookresearch/simsiam on clips: projector 3 x 2048 ending in a BN without affine
# parameters, predictor 2048 -> 512 (no bias) -> 2048 (the model, SimSiam in
# harness_contrastive/models.py), no EMA, SGD lr 0.05 x batch / 256, weight decay 1e-4,
# cosine, the predictor's lr fixed; clips of 16 frames at 112 px (_base_/two_view_paper.py).
_base_ = ['./_base_/two_view_paper.py']

model = dict(type='SimSiam',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=2048, dim=2048, pred_dim=512)
optim_wrapper = dict(
    # the predictor's lr is not decayed, as the image recipe: [code] facebookresearch/simsiam:
    # README.md (--fix-pred-lr), main_simsiam.py (fix_lr param group)
    constructor='FixedLrOptimWrapperConstructor', fixed_lr=['predictor'],
    optimizer=dict(lr=0.05 * 64 / 256))
# Across processes (harness/distributed.py; each value's source in the sources table): SyncBatchNorm, as SimSiam's official code
batch_norm = 'global'
