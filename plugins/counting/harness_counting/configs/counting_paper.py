# Learning to Count at paper scale (Noroozi, Pirsiavash, Favaro, ICCV 2017; docs/methods.md §5).
# From memory, unverified ([mem] in docs/methods.md §5a): AlexNet-style (CaffeNet widths) with
# BN, 228 x 228 crops, so tiles and the downsampled copy are 114 x 114; here a random square
# box of (228/256)^2 of the image's area (a 228-pixel crop of the image brought to 256 px),
# cut from the full-resolution image and resized to 228 once, flip, no colour augmentation
# ([unverified]: how the paper brought images to 256 px is not known). Head fc6-fc7-fc8 4096 -> 4096 -> 1000 counts, final ReLU, M = 10 ([mem]);
# fc6 reads AlexNet-BN's conv5 map (after pool5) of a 114-pixel tile flattened, 256 x 3 x 3 =
# 2304 inputs ([paper], as docs/methods.md §5 records the paper's network; the paper's text
# was not re-read for this).
# Unknown: the paper's optimiser, learning rate, batch size and schedule are not in
# docs/methods.md; the values below are placeholders: Adam at lr 1e-4 as the clvrai
# reimplementation (TF, VGG-style) uses, batch 256, and a length of about 350k iterations that
# is a recollection, not a checked number. The paper's set of interpolation methods for D is
# also [mem] (bilinear / bicubic / Lanczos / ...; torch has no Lanczos): nearest, antialiased
# bilinear and bicubic, and area here.
_base_ = ['./counting_demo.py']

model = dict(
    data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
    tile_size=114,  # [paper] half the 228 crop; conv5 flattened into fc6 (256 x 3 x 3)
    hidden_dim=4096,
    num_counts=1000,
)

train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    pin_memory=True,
    dataset=dict(pipeline=[
        dict(type='SampleImageViews', views=dict(
            crop=dict(size=228, augment=dict(  # [unverified] no intermediate above 228
                scale=((228 / 256) ** 2, (228 / 256) ** 2), ratio=(1.0, 1.0), flip=0.5,
                color=0.0, grayscale=0.0)))),
        dict(type='PackInputs'),
    ]),
)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=350000)  # [mem], unverified
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-4))  # unknown: clvrai's
param_scheduler = []  # unknown: constant lr
default_hooks = dict(checkpoint=dict(interval=5000), logger=dict(interval=50))
# the fixed image shapes let cuDNN pick its fastest convolutions
env_cfg = dict(cudnn_benchmark=True)
# Across processes (harness/distributed.py; each value's source in the sources table): per-process BN
# (unknown: no official code)
batch_norm = 'per_process'
