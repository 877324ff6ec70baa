# MoCo v2 on images (docs/methods.md §7), demo size: the views of _base_/two_view_image_demo.py
# (MoCo v2's recipe). Demo: key EMA 0.99, hidden 512, and
# - a queue of 64 keys (the last 2 batches of 32), well under the 240 train images of the demo
#   imagenet: an image's own key from its previous epoch has left the queue by the time it
#   comes back, unless it was drawn within 2 batches of the end of one epoch and the start of
#   the next (the sampler reshuffles every epoch: about 5% of the draws). With a queue larger
#   than the set, every query would have its own stale key among the negatives;
# - in one process, shuffle-BN's substitute: 4 BN sub-batches of 8 images (bn_groups, see MoCo
#   in harness_contrastive/models.py), as MoCo over 4 processes of 8 would.
_base_ = ['./_base_/two_view_image_demo.py']

model = dict(type='MoCo',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=512, dim=128, queue_size=64, momentum=0.99, temperature=0.2,
             bn_groups=4)
