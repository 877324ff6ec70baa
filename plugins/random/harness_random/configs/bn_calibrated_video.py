# The BatchNorm-calibrated reference on clips: the random row's weights, BatchNorm statistics
# fitted on the two-view methods' demo views (two clips of a video at independent times, 8
# frames x 32 px, random resized crop, flip, colour jitter p 0.8, grey p 0.2, blur p 0.5),
# nothing else moved: 60 steps of 8 videos, both views (960 clips, six passes over the 160 demo
# videos), statistics averaged over every batch. Its records are the reference row
# 'random (bn_calibrated)'. The harness replaces model.backbone (--backbone) and sets the
# data and the seed.
custom_imports = dict(imports=['harness_random.model'])
model = dict(type='BNCalibration', backbone=dict(type='harness.R3D18'),
             data_preprocessor=dict(type='harness.AugmentViews'))
train_dataloader = dict(
    batch_size=8,
    dataset=dict(pipeline=[
        dict(type='SampleViews',
             views=dict(view1=dict(frames=8, stride=2, size=32, augment=dict(blur=0.5)),
                        view2=dict(frames=8, stride=2, size=32, augment=dict(blur=0.5))),
             placement='independent'),
        dict(type='PackInputs'),
    ]),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=60)
# no parameter is trained, only the BatchNorm statistics are fitted
untrained_tensors = ['*']
# required by the Runner, never stepped (BNCalibration.train_step)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.0))
