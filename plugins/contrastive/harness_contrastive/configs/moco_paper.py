# MoCo v2 on two clips of a video at paper scale (docs/methods.md §7): queue K = 65536, key EMA
# m = 0.999, temperature 0.2, MLP head 2048 -> 128, SGD lr 0.03 for 256, weight decay 1e-4,
# cosine; clips of 16 frames at 112 px (_base_/two_view_paper.py). Shuffle-BN across
# processes under DDP; in one process its substitute, bn_groups (see MoCo in
# harness_contrastive/models.py).
_base_ = ['./_base_/two_view_paper.py']

model = dict(type='MoCo',
             data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=2048, dim=128, queue_size=65536, momentum=0.999, temperature=0.2,
             # in one process, BN over 2 sub-batches of 32 clips, the image recipe's 32 per
             # GPU: [unverified] for video (no official video MoCo v2 code)
             bn_groups=2)
# Across processes (harness/distributed.py; each value's source in the sources table): per-process BN, the key batch
# shuffled across processes, as MoCo's official code
batch_norm = 'per_process_shuffled'
