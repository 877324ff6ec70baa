# Transitive Invariance at paper scale (Wang, He, Gupta, ICCV 2017; docs/methods.md §4).
# The 2017 paper's training code is not public. The network, loss, data layer and solver below
# are those of its predecessor's official code (Wang & Gupta, ICCV 2015), read in
# xiaolonw/caffe-video_triplet ([code] tags; its VGG-16 files, rank_scripts/rank_vgg/, are in
# the repository's history: added in commit c8842be, deleted in ac28d3d):
# - network: VGG-16 conv5 -> pool5 flattened -> fc6 4096 -> ReLU -> fc7 1024 -> ReLU (relu7)
#   -> L2 normalisation (Norm) -> RankHardLoss with 4 negatives per pair (2 hard, 2 random) and
#   margin 1; here model.head_input='flatten' reads the backbone's last map flattened: with
#   --backbone vgg16 (the paper's network) that is pool5, 512 x 7 x 7 at 224 px, the official
#   fc6. On the default resnet50 it is layer4's 2048 x 7 x 7 map (a 411M-weight fc6);
#   model.head_input='pool' pools it instead. Caffe's xavier initialisation with fc biases at 1
#   is not reproduced (the layers keep PyTorch's initialisation).
# - data layer: each patch resized to 227 x 227, a random 224 x 224 crop, random mirror;
#   batch 80 images = 40 positive pairs (pair_size 2). Here the same box (224/227 of the
#   patch's side, at a random place) is cut from the mined patch and resized to 224.
# - solver (rank_vgg/solver.prototxt): SGD lr 0.001, momentum 0.9, weight decay 5e-4, lr x0.1
#   every 100k iterations, 600k iterations (the AlexNet solver, rank_alexnet/solver.prototxt,
#   stops at 400k); biases at 2x the lr without weight decay (lr_mult 2, decay_mult 0 in the
#   prototxt).
# Unverified ([unverified]): whether the 2017 paper trained with these values; the tracker's
# patch size and track length, the number of clusters and when the graph is built
# (docs/methods.md has none of them): 30-frame tracks of 128-pixel patches in 256-pixel videos,
# the graph after 50k iterations, clusters of about 4 patches are placeholders.
# The paper's first stage (context prediction, Doersch et al.) is replaced by the first
# 50k iterations on the intra-instance pairs (see harness_transitive.hooks).
# Scale: the mined patches are held in memory and mined in one process (README, Transitive
# Invariance): this config's sizes are right for a few thousand videos, not the paper's
# millions of patches.
_base_ = ['./transitive_demo.py']

model = dict(
    data_preprocessor=dict(type='harness.AugmentViews', channels_last=True),
    hidden_dim=4096,  # [code] xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/imagenet_train.prototxt (fc6)
    embed_dim=1024,  # [code] xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/imagenet_train.prototxt (fc7)
    head_input='flatten',  # [code] xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/imagenet_train.prototxt (pool5 -> fc6)
    input_size=224,  # [code] xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/imagenet_train.prototxt (crop_size)
)

train_dataloader = dict(
    batch_size=40,  # pairs: [code] xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/imagenet_train.prototxt (batch_size 80, pair_size 2)
    pin_memory=True,
    dataset=dict(
        mining=dict(size=128, window=30, stride=30, per_window=2, min_ratio=2.0,
                    max_frames=300),  # [unverified]
        pipeline=[
            # [code] xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/imagenet_train.prototxt
            # (new_height/new_width 227, crop_size 224, mirror)
            dict(type='SamplePatchPair', view=dict(
                size=224, decode_size=224, augment=dict(
                    scale=((224 / 227) ** 2, (224 / 227) ** 2), ratio=(1.0, 1.0), flip=0.5,
                    color=0.0, grayscale=0.0))),
            dict(type='PackInputs'),
        ]),
)

custom_hooks = [dict(type='ProgressBarHook', desc='pretrain'),
                dict(type='TransitiveGraph', graph_iter=50000, view_size=224,
                     cluster_size=4)]  # [unverified] graph_iter, cluster_size

train_cfg = dict(type='IterBasedTrainLoop', max_iters=600000)  # [code] xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/solver.prototxt
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=0.001, momentum=0.9,
                   weight_decay=5e-4),  # [code] xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/solver.prototxt
    # [code] xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/imagenet_train.prototxt
    # (every bias: lr_mult 2, decay_mult 0)
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False,
                        milestones=[100000, 200000, 300000, 400000, 500000],
                        gamma=0.1)]  # [code] xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/solver.prototxt (step, stepsize 100000)
default_hooks = dict(checkpoint=dict(interval=5000), logger=dict(interval=50))
env_cfg = dict(cudnn_benchmark=True)
# Across processes (harness/distributed.py; each value's source in the sources table): per-process BN
# (the official Caffe network has no BatchNorm)
batch_norm = 'per_process'
