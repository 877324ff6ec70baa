# VideoMoCo at paper scale (docs/methods.md §7; tinapan-pt/VideoMoCo moco/builder.py): clips of
# 32 frames at 112 px whose 8 lowest-scored frames the generator replaces, queue K = 65536,
# m = 0.999, temperature 0.07, negatives decayed by 0.99999 ** age.
_base_ = ['./_base_/two_view_paper.py']

model = dict(type='VideoMoCo',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=2048, dim=128, queue_size=65536, momentum=0.999, temperature=0.07,
             decay=0.99999, drop=8, fill='clip_mean', generator=dict(width=16, hidden=32),
             # in one process, BN over 2 sub-batches of 32 clips (MoCo's shuffle-BN
             # substitute, see moco_paper.py): [unverified]
             bn_groups=2)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleViews',
         views=dict(view1=dict(frames=32, stride=1, size=112, augment=dict(blur=0.5)),
                    view2=dict(frames=32, stride=1, size=112, augment=dict(blur=0.5))),
         placement='independent'),
    dict(type='PackInputs'),
]))
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    encoder=dict(modules=['backbone', 'head'],
                 optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4)),
    generator=dict(optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4)),
)
# Under DDP (--launcher pytorch|slurm) each child module is wrapped on its own and the model's
# train_step runs (mmengine's wrapper for models with several optimizers, as mmagic's GANs);
# the frozen encoder in the generator's step leaves parameters without gradients.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=True)
# Across processes (harness/distributed.py; each value's source in the sources table): per-process BN, the key batch
# shuffled across processes, as MoCo's
batch_norm = 'per_process_shuffled'
