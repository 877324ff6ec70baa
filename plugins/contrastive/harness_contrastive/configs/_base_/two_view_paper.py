# Two clips of one video as the video versions of MoCo / BYOL / SimSiam are usually trained:
# 16 frames, stride 2, 112 px, random resized crop (area 0.3-1), flip, colour jitter p 0.8,
# grey p 0.2, blur p 0.5, each clip augmented on its own; 200 epochs at batch 64 per process.
# Method configs set `model` and, where the paper says, the optimizer.
_base_ = ['./two_view_demo.py']

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    pin_memory=True,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),  # epochs, as papers count
    dataset=dict(pipeline=[
        dict(type='SampleViews',
             views=dict(view1=dict(frames=16, stride=2, size=112, augment=dict(blur=0.5)),
                        view2=dict(frames=16, stride=2, size=112, augment=dict(blur=0.5))),
             placement='independent'),
        dict(type='PackInputs'),
    ]),
)

train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=200)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.03, momentum=0.9,
                                    weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0,
                        T_max=200)]
default_hooks = dict(checkpoint=dict(interval=1, by_epoch=True), logger=dict(interval=50))
# the fixed clip shapes let cuDNN pick its fastest convolutions
env_cfg = dict(cudnn_benchmark=True)
