# MoCo v2 (docs/methods.md §7): K = 65536, m = 0.999, t = 0.2, MLP head 2048 -> 128,
# shuffle-BN. Demo: hidden 512, m = 0.99, and
# - a queue of 32 keys (the last 4 batches of 8), well under the 160 videos of the demo
#   Kinetics-400 pretraining set: a video's own key from its previous epoch has left the queue
#   by the time it comes back, unless it was drawn within 4 batches of the end of one epoch
#   and the start of the next (the sampler reshuffles every epoch: 2.5% of the draws). With a
#   queue larger than the set, every query would have its own stale key among the negatives;
# - in one process, shuffle-BN's substitute: 2 BN sub-batches of 4 clips (bn_groups, see
#   MoCo in harness_contrastive/models.py), as MoCo over 2 processes of 4 would.
_base_ = ['./_base_/two_view_demo.py']

model = dict(type='MoCo',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.R3D18'),
             hidden_dim=512, dim=128,
             queue_size=32, momentum=0.99, temperature=0.2, bn_groups=2)
