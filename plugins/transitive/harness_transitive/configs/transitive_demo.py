# Transitive Invariance (Wang, He, Gupta, ICCV 2017; docs/methods.md §4), demo size.
# Mining (once per video list, cached beside the list in WORK_DIR/lists/mined): in each window
# of 8 frames of the first 48 frames of a video, the 2 most moving 40-pixel boxes of its first
# frame pair are followed by optical flow to its last frame; first and last patch of a track
# are an intra-instance pair. Stage 1 (iterations 0-99) trains on those pairs alone; at
# iteration 100 the network's features of every patch are clustered into clusters of about 4
# patches (k-means), each patch is linked to its most similar patch of another track in its
# cluster (inter-instance edges), and the rest of the run trains on the intra, inter and
# transitive pairs (`pairs`: 'all', or 'intra' / 'inter' alone for the ablations).
# Loss: cosine triplet ranking over both ends of each pair, 4 negatives per pair from the other
# pairs of the batch (2 of the hardest margin violators, 2 at random), margin 1
# (caffe-video_triplet's RankHardLoss). Head 256 -> 128 wide (paper: 4096 -> 1024, [mem]).
# Views: 40-pixel patches resized to 48 px, random crop (area 0.7-1) and flip, batched on the
# device. The loader has no workers: the patches are in memory and the graph changes at
# iteration 100.
# The harness runs it over its pretraining runtime (harness/configs/_base_/pretrain_runtime.py:
# logging, checkpoints, the core's imports, the train_dataloader's sampler and loader) and sets
# model.backbone (--backbone), model.feat_dim, the dataset's data_root and ann_file
# (--pretrain-data, a video dataset) and the seed; `harness run --dry-run` prints the merged
# config.
custom_imports = dict(imports=['harness_transitive.dataset', 'harness_transitive.hooks',
                               'harness_transitive.model', 'harness_backbones.image'])

model = dict(
    type='TransitiveTriplet',
    data_preprocessor=dict(type='harness.AugmentViews'),  # augmentation, batched on the device
    backbone=dict(type='harness.ResNet50'),  # set by the harness (--backbone)
    hidden_dim=256,  # paper: 4096 (fc6) [mem]
    embed_dim=128,  # paper: 1024 (fc7) [mem]
    margin=1.0,  # RankHardLoss example prototxt [code]; Wang & Gupta 2015: 0.5 [mem]
    neg_num=4, hard_ratio=0.5, rand_ratio=0.5,  # [code]
)

train_dataloader = dict(
    batch_size=32,  # positive pairs per batch
    num_workers=0,  # required: see the header
    persistent_workers=False,
    dataset=dict(
        type='MinedPatchPairs', pairs='all',
        mining=dict(size=40, window=8, stride=8, per_window=2, min_ratio=2.0, max_frames=48),
        pipeline=[
            dict(type='SamplePatchPair', view=dict(
                size=48, decode_size=48, augment=dict(scale=(0.7, 1.0), ratio=(3 / 4, 4 / 3),
                                                      flip=0.5, color=0.0, grayscale=0.0))),
            dict(type='PackInputs'),
        ],
    ),
)

custom_hooks = [dict(type='ProgressBarHook', desc='pretrain'),  # the runtime's, kept
                dict(type='TransitiveGraph', graph_iter=100, view_size=48, cluster_size=4)]

train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, T_max=290),
]
