# SimCLR on images (Chen, Kornblith, Norouzi, Hinton 2020; docs/methods.md §7), demo size:
# SimCLR's views (crops of area 0.08-1, colour jitter at strength 1: (0.8, 0.8, 0.8, 0.2) with
# p 0.8, grey p 0.2, blur p 0.5), NT-Xent at temperature 0.1 over the 2N views of the batch;
# SimCLR's projector with a BN on every layer, the last one with a scale and no offset.
# Demo: projector 512 wide, 128-d.
_base_ = ['./_base_/two_view_image_demo.py']

model = dict(type='SimCLR',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=512, dim=128, temperature=0.1)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleImageViews', views=dict(
        view1=dict(size=56, augment=dict(
            scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.8, 0.8, 0.8, 0.2), blur=0.5)),
        view2=dict(size=56, augment=dict(
            scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.8, 0.8, 0.8, 0.2),
            blur=0.5)))),
    dict(type='PackInputs'),
]))
