# The BatchNorm-calibrated reference on images: the random row's weights, BatchNorm statistics
# fitted on the two-view methods' demo views (two 56-px random resized crops of area 0.2-1 of a
# 64-px image, flip, colour jitter (0.4, 0.4, 0.4, 0.1) p 0.8, grey p 0.2, blur p 0.5), nothing
# else moved: 60 steps of 32 images, both views (3840 views, 16 passes over the 240 demo train
# images), statistics averaged over every batch. Its records are the reference row
# 'random (bn_calibrated)'. The harness replaces model.backbone (--backbone) and sets the
# data and the seed.
custom_imports = dict(imports=['harness_random.model'])
model = dict(type='BNCalibration', backbone=dict(type='harness.ResNet50'),
             data_preprocessor=dict(type='harness.AugmentViews'))
train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        type='ImageListDataset',
        pipeline=[
            dict(type='SampleImageViews', views=dict(
                view1=dict(size=56, augment=dict(
                    scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.4, 0.1),
                    blur=0.5)),
                view2=dict(size=56, augment=dict(
                    scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.4, 0.1),
                    blur=0.5)))),
            dict(type='PackInputs'),
        ],
    ),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=60)
# no parameter is trained, only the BatchNorm statistics are fitted
untrained_tensors = ['*']
# required by the Runner, never stepped (BNCalibration.train_step)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.0))
