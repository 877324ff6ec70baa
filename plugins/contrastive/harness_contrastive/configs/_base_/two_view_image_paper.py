# Two augmented views of one image at paper scale (MoCo v2 / SimSiam recipe): 224-pixel random
# resized crops (area 0.2-1, aspect 3/4-4/3) cut from the full-resolution image, flip,
# colour jitter (0.4, 0.4, 0.4, 0.1) p 0.8, grey p 0.2, blur p 0.5; epochs over the train list
# at batch 256 per process. Method configs set `model`, the optimizer and the schedule (and
# their own views where their paper's recipe differs).
_base_ = ['./two_view_image_demo.py']

train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    pin_memory=True,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),  # epochs, as papers count
    dataset=dict(pipeline=[
        dict(type='SampleImageViews', views=dict(
            view1=dict(size=224, augment=dict(
                scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.4, 0.1), blur=0.5)),
            view2=dict(size=224, augment=dict(
                scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.4, 0.1),
                blur=0.5)))),
        dict(type='PackInputs'),
    ]),
)
default_hooks = dict(checkpoint=dict(interval=1, by_epoch=True), logger=dict(interval=50))
# the fixed image shapes let cuDNN pick its fastest convolutions
env_cfg = dict(cudnn_benchmark=True)
