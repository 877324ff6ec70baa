# Finetune protocol at the papers' scale (docs/methods.md §0): 16 frames (every 2nd), short side
# 128, random resized crop to 112 with flip for training; at test 10 uniformly spaced clips x 3
# crops (short side 128, three 128-px crops resized to 112), softmax averaged. SGD momentum 0.9,
# lr 0.05 for 64 clips per step, weight decay 5e-4, 100 epochs with cosine decay, dropout 0.5
# (common practice; the papers' exact finetune schedules are not verifiable).
_base_ = ['./finetune_demo.py']

model = dict(cls_head=dict(dropout_ratio=0.5))

train_dataloader = dict(
    batch_size=8, num_workers=8, pin_memory=True,
    dataset=dict(pipeline=[
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=16, frame_interval=2, num_clips=1),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, 128)),
        dict(type='RandomResizedCrop', area_range=(0.3, 1.0)),
        dict(type='Resize', scale=(112, 112), keep_ratio=False),
        dict(type='Flip', flip_ratio=0.5),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]))
test_dataloader = dict(
    num_workers=8,
    dataset=dict(pipeline=[
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=16, frame_interval=2, num_clips=10, test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, 128)),
        dict(type='ThreeCrop', crop_size=128),
        dict(type='Resize', scale=(112, 112), keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]))

train_cfg = dict(max_epochs=100, val_interval=101)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=100, eta_min=0, by_epoch=True)]
auto_scale_lr = dict(base_batch_size=64, enable=False)
default_hooks = dict(logger=dict(interval=50))
# the fixed clip shapes let cuDNN pick its fastest convolutions
env_cfg = dict(cudnn_benchmark=True)
