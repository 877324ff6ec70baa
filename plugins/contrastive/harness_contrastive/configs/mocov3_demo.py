# MoCo v3 on images (Chen, Xie, He, ICCV 2021), demo size, its ResNet recipe
# (facebookresearch/moco-v3): BYOL's asymmetric views (colour jitter (0.4, 0.4, 0.2, 0.1)
# p 0.8, grey p 0.2, blur p 1.0 / 0.1, solarize p 0 / 0.2) with crops of area 0.2-1
# (--crop-min=.2), queries against the momentum encoder's keys of the other view with the
# batch as negatives, temperature 1.0 and the momentum from 0.99 to 1 on a cosine; 2-layer
# projector ending in a BN, 2-layer predictor without a last BN.
# Demo: projector/predictor 512 wide, 128-d.
_base_ = ['./byol_image_demo.py']

model = dict(_delete_=True, type='MoCoV3',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.ResNet50'),
             hidden_dim=512, dim=128, momentum=0.99, temperature=1.0, projector_layers=2,
             predictor_last_bn=False)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleImageViews', views=dict(
        view1=dict(size=56, augment=dict(
            scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1), blur=1.0)),
        view2=dict(size=56, augment=dict(
            scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1), blur=0.1,
            solarize=0.2)))),
    dict(type='PackInputs'),
]))
