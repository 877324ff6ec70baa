# Linear probe of MoCo v1/v2 at paper scale (facebookresearch/moco main_lincls.py; mmpretrain's
# MoCo v2 benchmark resnet50_8xb32-linear-steplr-100e_in1k is the same recipe; docs/image-evals.md
# §5): frozen backbone kept in eval mode, global average pooling, Linear(feat_dim, classes)
# initialised N(0, 0.01) with bias 0; SGD lr 30, momentum 0.9, weight decay 0, batch 256,
# 100 epochs, lr x0.1 at epochs 60 and 80; training views are 224-pixel random resized crops
# (area 0.08-1, aspect 3/4-4/3) + flip, each box cut from the full-resolution image and resized
# to 224 once, as torchvision's RandomResizedCrop(224) does in main_lincls.py;
# test: shorter side 256, centre 224 x 224 crop (_base_/image_features_paper.py, as the knn
# protocol), top-1/top-5. The harness fills in the backbone, classes, data and test phase
# (linear_demo.py says how).
# Batch 256 = 1 process x 256 (MoCo: 8 GPUs x 32); under N processes set batch_size=256/N.
_base_ = ['./_base_/image_features_paper.py']

custom_imports = dict(imports=['harness_imageeval.linear'],
                      allow_failed_imports=False)

model = dict(type='LinearProbe', head=dict(batchnorm=False, init='normal', std=0.01))

train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),  # epochs, as the papers count
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageListDataset', data_root=None, ann_file=None,
        pipeline=[
            # [code] facebookresearch/moco: main_lincls.py (at 7397dfe; RandomResizedCrop(224)
            # of the full image): no intermediate above 224 (decode_size: the size)
            dict(type='SampleImageViews', views=dict(image=dict(
                size=224, augment=dict(
                    scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), flip=0.5, color=0.0,
                    grayscale=0.0)))),
            dict(type='PackInputs', keys=('inputs', 'label')),
        ],
    ),
)

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
# the optimizer holds the head's parameters only (main_lincls asserts the same)
optim_wrapper = dict(constructor='HeadOptimWrapperConstructor',
                     optimizer=dict(type='SGD', lr=30.0, momentum=0.9, weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[60, 80], gamma=0.1)]
auto_scale_lr = dict(base_batch_size=256, enable=False)

# the runtime (harness/configs/_base_/eval_runtime.py) by epochs: logs averaged within each
# epoch, a checkpoint after each; the fixed image shapes let cuDNN pick its fastest convolutions
env_cfg = dict(cudnn_benchmark=True)
log_processor = dict(window_size=50, by_epoch=True)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=1, by_epoch=True))
