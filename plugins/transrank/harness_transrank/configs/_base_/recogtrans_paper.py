# The schedule of the transformation-recognition methods at paper scale (TransRank's example
# config: UCF101, R3D, MLP head, 200 epochs, 8 GPUs; docs/methods.md §1, §8). The optimizer
# is not verifiable there: SGD, momentum 0.9, lr 0.1 for 128 videos per step, cosine decay,
# weight decay 5e-4; the sampler at 16 frames x 112 px. A method's paper config takes this file
# and its method's _base_/models/<method>.py, as its demo config takes recogtrans_demo.py.
_base_ = ['./recogtrans_demo.py']

train_dataloader = dict(
    batch_size=16, num_workers=8, pin_memory=True,
    # epochs, as the papers count them
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=[
        dict(type='SampleTransformedClips', temporal=['1x', '2x', '4x'], frames=16, size=112,
             jitter=(0.8, 1.2), rotation=False, clips_per_video=None,
             augment=dict(scale=(0.5, 1.0), color=0.8, grayscale=0.2)),
        dict(type='PackInputs'),
    ]))
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=200)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.1, momentum=0.9,
                                    weight_decay=5e-4))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0,
                        T_max=200)]
auto_scale_lr = dict(base_batch_size=128, enable=False)
default_hooks = dict(checkpoint=dict(interval=1, by_epoch=True), logger=dict(interval=50))
# the fixed clip shapes let cuDNN pick its fastest convolutions
env_cfg = dict(cudnn_benchmark=True)
# Across processes (harness/distributed.py): per-process BN and the batch of 128 (8 processes x
# 16), kept on fewer processes by gradient accumulation ([unverified]: TransRank's training code
# is not readable)
batch_norm = 'per_process'
paper_batch = dict(size=128, lr_scaling='linear', scale_lr=False)
