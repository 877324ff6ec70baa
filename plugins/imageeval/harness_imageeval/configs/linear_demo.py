# Linear probe on a frozen backbone, demo sizes: MoCo's main_lincls.py protocol
# (facebookresearch/moco; docs/image-evals.md §5) with a demo schedule. The backbone stays in eval
# mode (fixed BN statistics), its pooled features feed Linear(feat_dim, classes) initialised
# N(0, 0.01) with bias 0, trained by mmengine's Runner on one random resized crop (area 0.08-1,
# aspect 3/4-4/3) + flip per train image, augmented on the device; tested on the same centre
# crops and normalisation as the knn protocol (feature_pipeline, feature_loader and
# data_preprocessor of the base), top-1/top-5 by mmaction2's AccMetric.
# The harness sets model.backbone (with the SSL weights), feat_dim, num_classes (the dataset's)
# and the data preprocessor, the data lists and the seed, and makes the test phase from
# feature_pipeline / feature_loader / data_preprocessor (harness_imageeval/linear.py).
_base_ = ['./_base_/image_features_demo.py']

custom_imports = dict(imports=['harness_imageeval.linear'],
                      allow_failed_imports=False)

# head: batchnorm puts BatchNorm1d(affine=False, eps=1e-6) before the Linear; init 'normal'
# (MoCo) or 'trunc_normal' (MAE), std 0.01. The demo normalises the features as MAE's probe does:
# one schedule then fits every method's feature scale (MoCo's lr 30 is tuned to MoCo's features).
model = dict(type='LinearProbe', head=dict(batchnorm=True, init='normal', std=0.01))

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageListDataset', data_root=None, ann_file=None,
        pipeline=[
            # 56-pixel crops as at test, each cut from the 64-pixel image and resized to 56
            dict(type='SampleImageViews', views=dict(image=dict(
                size=56, augment=dict(
                    scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), flip=0.5, color=0.0,
                    grayscale=0.0)))),
            dict(type='PackInputs', keys=('inputs', 'label')),
        ],
    ),
)

# 150 steps of batch 32 (20 passes over the 240 demo train images), lr x0.1 at 60% and 80% as
# MoCo's epochs 60 and 80 of 100. Checked on a validation demo (the imagenet demo generated with
# seed 1, never this demo's val split) with random-init resnet18-slim, heads fit on cached
# augmented features: SGD lr 0.1 to 30, with or without the BN, 150 or 300 steps all gave 25-39%
# top-1 (120 val images), the same within its noise; the protocol itself gave 31-40% there.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=150)
# the optimizer holds the head's parameters only (MoCo's main_lincls asserts the same)
optim_wrapper = dict(constructor='HeadOptimWrapperConstructor',
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[90, 120], gamma=0.1)]

# the runtime (harness/configs/_base_/eval_runtime.py) logging every 10 iterations, saving every 50
log_processor = dict(window_size=10)
default_hooks = dict(checkpoint=dict(interval=50))
