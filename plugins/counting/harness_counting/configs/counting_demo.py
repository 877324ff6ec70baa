# Learning to Count (Noroozi, Pirsiavash, Favaro, ICCV 2017; docs/methods.md §5), demo size.
# One crop x of side 2S per image; the model cuts its four S x S quadrant tiles and downsamples
# it 2x to S x S with an interpolation drawn per sample (nearest, antialiased bilinear and
# bicubic, area), batched on the device; y is the next image of the batch. Loss:
#   || φ(D∘x) - Σ_j φ(T_j∘x) ||² + contrastive_weight * max(0, M - || φ(D∘y) - Σ_j φ(T_j∘x) ||²)
# Demo sizes: the random resized crop (area 0.5-1, aspect 3/4-4/3, flip, no colour) of the demo
# imagenet's 64-pixel images is cut from the image and resized to 2S = 72 px in the worker, as
# every random resized crop resizes its box, so tiles and the downsampled copy are S = 36 px: AlexNet-BN maps inputs under 35 px to
# an empty feature map (at 36 px its conv5 map is 1 x 1), so 64-pixel crops (S = 32) do not
# run on it. fc6 reads conv5 flattened, as in the paper (at 36 px AlexNet-BN's map is
# 256 x 1 x 1). Head 512 wide, 128 counts (paper: 4096, 1000), M = 10 as in the paper.
# The harness runs it over its pretraining runtime (harness/configs/_base_/pretrain_runtime.py:
# logging, checkpoints, the core's imports, the train_dataloader's sampler and loader) and sets
# model.backbone (--backbone), model.feat_dim, the dataset's data_root and ann_file
# (--pretrain-data) and the seed; `harness run --dry-run` prints the merged config.
custom_imports = dict(imports=['harness_counting.model', 'harness_backbones.image'])

model = dict(
    type='Counting',
    data_preprocessor=dict(type='harness.AugmentViews'),  # augmentation, batched on the device
    backbone=dict(type='harness.AlexNetBN'),
    tile_size=36,  # S: half the 72-pixel crop; fc6 reads the flattened conv5 map of an S-px tile
    hidden_dim=512,  # paper: 4096 (fc6, fc7)
    num_counts=128,  # paper: 1000
    margin=10.0,  # M, paper: 10
    contrastive_weight=1.0,  # 0 switches the hinge off (the paper's collapse control)
    interpolations=('nearest', 'bilinear', 'bicubic', 'area'),  # D's methods, one per sample
    min_input_size=35,  # smaller tiles are zero-padded to it (AlexNet-BN's smallest input)
)

train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        type='ImageListDataset',
        pipeline=[
            dict(type='SampleImageViews', views=dict(
                crop=dict(size=72, augment=dict(
                    scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3), flip=0.5, color=0.0,
                    grayscale=0.0)))),
            dict(type='PackInputs'),
        ],
    ),
)

# 300 steps of batch 32 (40 passes over the 240 demo train images)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, T_max=290),
]
