# VideoMoCo (docs/methods.md §7): MoCo whose query clips lose their 8 lowest-scored of 32 frames
# to an adversarial generator, negatives weighted by decay ** age (0.99999 in
# tinapan-pt/VideoMoCo moco/builder.py); K = 65536, m = 0.999, t = 0.07.
# Demo: m = 0.99, hidden 512, 2 of 8 frames dropped; a queue of 32 keys (the last 4 batches of
# 8), well under the 160 videos of the demo Kinetics-400 pretraining set, so that a video's own
# key from its previous epoch is not among its negatives (unless drawn within 4 batches of an
# epoch's end and the next one's start: 2.5% of the draws; moco_demo.py); in one process,
# shuffle-BN's substitute, 2 BN sub-batches of 4 clips (bn_groups). Two optimizer wrappers
# (the model's train_step updates them in turn): encoder = backbone + head, and the generator;
# the base param_scheduler list is built once for each wrapper.
_base_ = ['./_base_/two_view_demo.py']

model = dict(type='VideoMoCo',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=512, dim=128,
             queue_size=32, momentum=0.99, temperature=0.07, decay=0.99999, drop=2,
             fill='clip_mean', generator=dict(width=16, hidden=32), bn_groups=2)
# Under DDP (--launcher pytorch|slurm) each child module is wrapped on its own and the model's
# train_step runs (mmengine's wrapper for models with several optimizers, as mmagic's GANs);
# the frozen encoder in the generator's step leaves parameters without gradients.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=True)
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    encoder=dict(modules=['backbone', 'head'],
                 optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-2)),
    generator=dict(optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-2)),
)
