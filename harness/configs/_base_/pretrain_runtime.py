# What every pretraining config runs over: runtime.py with pretraining's logging and checkpoint
# intervals and progress bar and the skeleton of the training data. A
# method's config gives its model, its schedule and its train_dataloader's batch_size and
# dataset.pipeline (and the dataset's type where it does not read videos), and whatever else it
# changes, and names its own modules in custom_imports (harness.config.load_pretrain_config
# merges it over this file and adds the core's modules).
_base_ = ['./runtime.py']

log_processor = dict(window_size=5)
default_hooks = dict(
    logger=dict(interval=5),
    # resumable every 30 iterations (with optimizer state an R3D-18 checkpoint is 800 MB)
    checkpoint=dict(interval=30, max_keep_ckpts=2),
)
custom_hooks = [dict(type='ProgressBarHook', desc='pretrain')]
# The harness sets the dataset's data_root and ann_file (--pretrain-data).
train_dataloader = dict(
    # a batch is made by one worker, so the workers are how many batches can be on their way
    # (on a CPU they run at idle priority in the compute's gaps). The count changes nothing but
    # speed (the sampler gives each item its own seed).
    num_workers=4,
    persistent_workers=True,
    # iteration-based training: one endless shuffled stream, no restart at epoch ends, each
    # item augmented under its own seed, so batches do not depend on num_workers
    # (harness.data.seeding)
    sampler=dict(type='SeededInfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='VideoListDataset', data_root=None, ann_file=None),
)
