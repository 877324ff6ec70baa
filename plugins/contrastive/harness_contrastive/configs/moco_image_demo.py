# MoCo v2 on images (docs/methods.md §7), demo size: the views of _base_/two_view_image_demo.py
# (MoCo v2's recipe). Demo: a queue of 256 keys (the demo imagenet has 240 train images),
# key EMA 0.99, hidden 512.
_base_ = ['./_base_/two_view_image_demo.py']

model = dict(type='MoCo',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=512, dim=128, queue_size=256, momentum=0.99, temperature=0.2)
