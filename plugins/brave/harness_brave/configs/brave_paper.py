# BraVe pretraining as the paper trains it (Recasens et al., ICCV 2021; official config of
# google-deepmind/brave, see docs/methods.md §2): narrow view 16 frames, stride 2, 224 px;
# one broad RGB view 64 frames, stride 4, 112 px (looping padding), narrow start = broad
# start; blur, flip, colour jitter p 0.8, grey p 0.2 on both, random convolution on the broad
# view; projector/predictor 4096 -> 128; LARS (momentum 0.9, nesterov, trust 0.001), weight
# decay 1e-2, peak lr 1.0 with 5k warm-up steps and cosine decay, predictor lr x10, batch 512,
# 300k steps. batch_size is per process: 64 x 8 GPUs = 512.
# Not reproduced here: the TSM-ResNet-50 backbone (use --backbone), audio/flow broad views.
_base_ = ['./brave_demo.py']

custom_imports = dict(imports=['harness_brave.augment', 'harness_brave.model',
                               'harness_backbones.video'])
# channels-last 3D clips on the GPU: cuDNN's NDHWC convolutions
model = dict(hidden_dim=4096, proj_dim=128, data_preprocessor=dict(channels_last=True))

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    pin_memory=True,
    dataset=dict(pipeline=[
        # views [code] google-deepmind/brave: brave/models/brave/config.py (16 x 2 at 224,
        # 64 x 4 at 112). Augmentation as brave/models/brave/brave.py (_transform_views) applies
        # it, every step per clip, the same for all its frames: crop area 0.3-1, aspect 0.5-2
        # (the core's defaults); Gaussian blur on EVERY clip (no probability), right after the
        # crop and before flip and colour, sigma 0.1-2, (size // 10) | 1 taps (23 at 224, 11 at
        # 112), zero padding (early_blur=1.0; harness_brave/augment.py) [code]
        # brave/datasets/augmentations.py (random_gaussian_blur_video, _gaussian_blur); flip
        # p 0.5, colour p 0.8, grey p 0.2 (the core's defaults); random convolution on EVERY
        # broad clip, k in 1..11, He-normal, output not renormalised (random_conv=1.0) [code]
        # brave/datasets/augmentations.py (random_convolve_video, _random_convolve).
        # Not as the official code: the colour jitter is torchvision's (multiplicative
        # brightness 1 +- 32/255, the four operations in random order, clipped after each)
        # where the official one adds brightness +-32/255 and runs brightness, saturation,
        # contrast, hue in this order with one clip at the end; inputs are normalised with
        # ImageNet's mean and std (the harness's evaluations use the same) where the official
        # network reads [0, 1] values.
        dict(type='SampleViews',
             views=dict(narrow=dict(frames=16, stride=2, size=224,
                                    augment=dict(early_blur=1.0)),
                        broad=[dict(frames=64, stride=4, size=112,
                                    augment=dict(early_blur=1.0, random_conv=1.0))]),
             # narrow start uniform where the narrow view fits, broad from the same frame,
             # looped [code] google-deepmind/brave: brave/models/brave/brave.py
             # (_brave_random_view_sampler)
             placement='shared_start'),
        dict(type='PackInputs'),
    ]),
)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=300_000)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='LARS', lr=1.0, momentum=0.9, nesterov=True,
                   trust_coeff=0.001, weight_decay=1e-2),
    paramwise_cfg=dict(custom_keys={'predictor': dict(lr_mult=10.0)}),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=5_000),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=5_000, T_max=295_000),
]
auto_scale_lr = dict(base_batch_size=512, enable=False)
default_hooks = dict(checkpoint=dict(interval=5_000), logger=dict(interval=50))
# the fixed clip shapes let cuDNN pick its fastest convolutions
env_cfg = dict(cudnn_benchmark=True)
