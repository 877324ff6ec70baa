# BraVe pretraining as the paper trains it (Recasens et al., ICCV 2021), after the official code
# (google-deepmind/brave, docs/methods.md §2); each value says where it comes from: [code]
# google-deepmind/brave: <path>, [paper], or [unverified].
# - Views: narrow 16 frames, stride 2, 224 px; one broad RGB view 64 frames, stride 4, 112 px;
#   the narrow start is uniform where the narrow view fits, the broad view starts at the same
#   frame and loops past the video's end [code] brave/models/brave/config.py, brave.py.
# - Augmentation on every clip: crop, blur, flip, colour p 0.8, grey p 0.2; random convolution
#   on every broad clip [code] brave/models/brave/brave.py (_transform_views).
# - Projector/predictor 4096 -> 128 [code] brave/models/brave/modules.py, config.py.
# - LARS (momentum 0.9, nesterov, trust 0.001), weight decay 1e-2; biases and normalisers
#   neither decayed nor adapted; the predictor's gradient x10 before LARS; peak lr 1.0, 5k
#   warm-up steps, cosine decay to 0 at 300k steps; batch 512 [code]
#   brave/training/optimizers.py, brave/models/brave/config.py. batch_size is per process:
#   64 x 8 GPUs = 512.
# Not reproduced here: the TSM-ResNet-50 backbone (use --backbone), the audio/flow broad views
# (the official default broad view is audio; this is the V/V variant), the official colour
# jitter and [0, 1] input scaling (see the pipeline's comment).
_base_ = ['./brave_demo.py']

custom_imports = dict(imports=['harness_brave.augment', 'harness_brave.model',
                               'harness_brave.optim', 'harness_backbones.video'])
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
# The official optimizer [code] brave/training/optimizers.py (get_optimizer: optax.chain of
# _scale_by_module_name and optax.lars, masks exclude_bias_and_normalizers) with the settings
# of brave/models/brave/config.py; BraveLARS (harness_brave/optim.py) is optax's lars update.
optim_wrapper = dict(
    constructor='BraveOptimWrapperConstructor',
    # lr 1.0 (the schedule's peak), momentum 0.9, nesterov, trust coefficient 0.001, weight
    # decay 1e-2 [code] brave/models/brave/config.py; trust-ratio eps 0 [code] optax 0.0.9
    # lars (google-deepmind/optax: optax/_src/alias.py)
    optimizer=dict(_delete_=True, type='BraveLARS', lr=1.0, momentum=0.9, nesterov=True,
                   trust_coefficient=0.001, weight_decay=1e-2),
    paramwise_cfg=dict(
        _delete_=True,
        # biases and normalisation parameters: no weight decay [code]
        # brave/training/optimizers.py (weight_decay_mask=exclude_bias_and_normalizers) ...
        norm_decay_mult=0.0, bias_decay_mult=0.0,
        # ... and no trust ratio (trust_ratio_mask=exclude_bias_and_normalizers)
        adapt_bias_and_norm=False,
        # the predictor's GRADIENT x10 before LARS (scale_learning_rate_by_regex
        # [('.*predictor.*', 10.0)], applied by _scale_by_module_name ahead of optax.lars): the
        # trust ratio cancels it on the predictor's weight matrices, its biases and BatchNorm
        # parameters move 10x further [code] brave/models/brave/config.py, optimizers.py
        grad_mult={'.*predictor.*': 10.0}),
)
# linear warm-up over 5k steps, then cosine decay to 0 at step 300k [code]
# brave/models/brave/config.py (optax.warmup_cosine_decay_schedule, init 0, peak 1.0,
# warmup_steps 5000, decay_steps 300000, end 0); the warm-up starts at 1e-3 x peak here, as
# mmengine's LinearLR cannot start at 0
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=5_000),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=5_000, T_max=295_000),
]
auto_scale_lr = dict(base_batch_size=512, enable=False)
default_hooks = dict(checkpoint=dict(interval=5_000), logger=dict(interval=50))
# the fixed clip shapes let cuDNN pick its fastest convolutions
env_cfg = dict(cudnn_benchmark=True)
# Across processes (harness/distributed.py; each value's source in the sources table): cross-replica BN over the whole
# batch of all processes, as the official code
batch_norm = 'global'
# the paper's batch of 512, kept on fewer processes by gradient accumulation;
# --cfg-options paper_batch.scale_lr=True trains at the batch the processes give with the lr
# scaled by the paper's rule instead
paper_batch = dict(size=512, lr_scaling='linear', scale_lr=False)
