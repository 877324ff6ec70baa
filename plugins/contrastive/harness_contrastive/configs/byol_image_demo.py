# BYOL on images (docs/methods.md §7), demo size. BYOL's asymmetric views: crops of area 0.08-1,
# colour jitter (0.4, 0.4, 0.2, 0.1) p 0.8, grey p 0.2; blur p 1.0 / 0.1 and solarize p 0 / 0.2
# for the first / second view. Target EMA from 0.99 rising to 1 on a cosine (BYOL's schedule;
# CosineMomentumHook). Demo: projector/predictor 512 wide, 128-d.
_base_ = ['./_base_/two_view_image_demo.py']

model = dict(type='BYOL',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=512, dim=128, momentum=0.99)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleImageViews', views=dict(
        view1=dict(size=56, augment=dict(
            scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1), blur=1.0)),
        view2=dict(size=56, augment=dict(
            scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1), blur=0.1,
            solarize=0.2)))),
    dict(type='PackInputs'),
]))
custom_hooks = [dict(type='ProgressBarHook', desc='pretrain'),
                dict(type='CosineMomentumHook', end=1.0)]
