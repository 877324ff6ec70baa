# Siamese Image Modeling (Tao et al., CVPR 2023; docs/methods.md §3), demo size: a CPU run of
# about a minute on the image demo. SiameseIM's views: crops of area 0.08-1, independent flips,
# colour jitter (0.4, 0.4, 0.2, 0.1) p 0.8, grey p 0.2; blur p 1.0 / 0.1 and solarize p 0 / 0.2
# for the first / second view; each view's crop box and flip are handed on (geometry=True) for
# the relative positions. The first view is block-masked (60% of its patches dropped), UniGrad
# with lambda 0.02, target EMA rising to 1 on a cosine.
# Demo: on demo data the harness trains vit-tiny8 (7 x 7 patches of 8 pixels at 56 px) in place
# of ViT-B/16; decoder 192 wide, projector 1 and predictor 2 blocks (paper 768, 2 and 4), smallest mask block 4 patches
# (BEiT's 16 of 196, scaled to 49), EMA from 0.99 (paper 0.995), AdamW at batch 32.
# The harness runs it over its pretraining runtime (harness/configs/_base_/pretrain_runtime.py:
# logging, checkpoints, the core's imports, the train_dataloader's sampler and loader) and sets
# model.backbone (--backbone), model.feat_dim, the dataset's data_root and ann_file
# (--pretrain-data) and the seed; `harness run --dry-run` prints the merged config.
custom_imports = dict(imports=['harness_sim.model', 'harness_backbones.image'])

model = dict(
    type='SiameseIM',
    data_preprocessor=dict(type='harness.AugmentViews'),  # augmentation, batched on the device
    backbone=dict(type='harness.ViTB16'),
    hidden_dim=192,  # decoder width (paper 768)
    head_dim=32,  # 6 heads
    projector_depth=1,
    predictor_depth=2,
    mask_ratio=0.6,
    mask_min_block=4,
    neg_weight=0.02,
    momentum=0.99,
    token_norm='batch',
    target_view='other',
)

train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        type='ImageListDataset',
        pipeline=[
            dict(type='SampleImageViews', geometry=True, views=dict(
                view1=dict(size=56, augment=dict(
                    scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1),
                    blur=1.0)),
                view2=dict(size=56, augment=dict(
                    scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1),
                    blur=0.1, solarize=0.2)))),
            dict(type='PackInputs'),
        ],
    ),
)

# 300 steps of batch 32 (40 passes over the 240 demo train images). The lr was chosen on a
# validation demo (the imagenet demo generated with seed 1, 300 val images; never this demo's val
# split), kNN top-1 on vit-tiny8, seed 0: lr 3e-4 25.7%, 1e-3 22.0%, 3e-3 19.3%; crops of area
# 0.2-1 at 1e-3 20.0%; random init 26.3%. At this budget SiameseIM does not beat random init.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=3e-4, betas=(0.9, 0.95),
                                    weight_decay=0.05),
                     clip_grad=dict(max_norm=1.0),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                                        custom_keys={'cls_token': dict(decay_mult=0.0),
                                                     'mask_token': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, T_max=290),
]
custom_hooks = [dict(type='ProgressBarHook', desc='pretrain'),
                dict(type='CosineMomentumHook', end=1.0)]

# Exported tensors SiameseIM leaves as initialised, as the official code does: the patch
# projection is frozen (main_pretrain.py --train_patch_embed defaults to False;
# models_sim.py), the positions are fixed sine-cosine codes (models_sim.py pos_embed,
# requires_grad=False), and the final LayerNorm is never run in pretraining (the online branch
# has no final norm). Evaluators read that norm as initialised (weight 1, bias 0): a plain
# per-token normalisation. [code] OpenGVLab/Siamese-Image-Modeling
untrained_tensors = ['vit.patch_embed.proj.*', 'vit.pos_embed', 'vit.norm.*']
