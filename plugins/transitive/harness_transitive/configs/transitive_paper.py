# Transitive Invariance at paper scale (Wang, He, Gupta, ICCV 2017; docs/methods.md §4).
# Sizes from memory, unverified ([mem]): patches mined from videos and fed at 227 x 227 (the
# 2015 network's input), fc6 4096 -> fc7 1024 on the pooled conv5 features, 4 negatives per
# pair (2 hard, 2 random) and margin 1 ([code], caffe-video_triplet's RankHardLoss example).
# Unknown (not in docs/methods.md): the paper's batch size, optimiser, learning rate and
# schedule, the tracker's patch size and track length and the number of clusters; the values
# below are placeholders chosen to be plausible, not the paper's: SGD at lr 0.01 with momentum
# 0.9 and batch 100 pairs as the 2015 code trained, 200k iterations, the graph built after
# 50k, clusters of about 4 patches, 30-frame tracks of 128-pixel patches in 256-pixel videos.
# The paper's first stage (context prediction, Doersch et al.) is replaced by the first
# 50k iterations on the intra-instance pairs (see harness_transitive.hooks).
# Scale: the mined patches are held in memory and mined in one process (README, Transitive
# Invariance): this config's sizes are right for a few thousand videos, not the paper's
# millions of patches.
_base_ = ['./transitive_demo.py']

model = dict(
    data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
    hidden_dim=4096,
    embed_dim=1024,
)

train_dataloader = dict(
    batch_size=100,
    pin_memory=True,
    dataset=dict(
        mining=dict(size=128, window=30, stride=30, per_window=2, min_ratio=2.0,
                    max_frames=300),
        pipeline=[
            dict(type='SamplePatchPair', view=dict(
                size=227, decode_size=227, augment=dict(
                    scale=(0.7, 1.0), ratio=(3 / 4, 4 / 3), flip=0.5, color=0.0,
                    grayscale=0.0))),
            dict(type='PackInputs'),
        ]),
)

custom_hooks = [dict(type='ProgressBarHook', desc='pretrain'),
                dict(type='TransitiveGraph', graph_iter=50000, view_size=227, cluster_size=4)]

train_cfg = dict(type='IterBasedTrainLoop', max_iters=200000)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.01, momentum=0.9,
                                    weight_decay=5e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[150000], gamma=0.1)]
default_hooks = dict(checkpoint=dict(interval=5000), logger=dict(interval=50))
env_cfg = dict(cudnn_benchmark=True)
