# Siamese Image Modeling at paper scale (OpenGVLab/Siamese-Image-Modeling,
# configs/pretrain/dist_sim_base_1600ep.sh; docs/methods.md §3): ViT-B/16 at 224 px, decoder
# 768 wide (16 heads), projector 2 and predictor 4 blocks with BatchNorm, 118 of 196 patches
# masked block-wise (BEiT, blocks of 16 or more), UniGrad lambda 0.02, EMA 0.995 rising to 1 on
# a cosine; AdamW (betas 0.9, 0.95, weight decay 0.05, none on norms, biases and tokens), base
# lr 6.25e-5 x batch / 256 = 1e-3 at batch 4096, 40 warm-up epochs then cosine, 1600 epochs,
# gradient clipping at 1.0. Batch 4096 = 32 processes x 128. The official code autocasts to
# fp16 (the loss in fp32 either way): add --amp fp16 on GPUs.
_base_ = ['./sim_demo.py']

model = dict(hidden_dim=768, head_dim=48, projector_depth=2, predictor_depth=4,
             mask_ratio=118 / 196, mask_min_block=16, momentum=0.995)
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    pin_memory=True,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),  # epochs, as papers count
    dataset=dict(pipeline=[
        dict(type='SampleImageViews', geometry=True, views=dict(
            view1=dict(size=224, augment=dict(
                scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1),
                blur=1.0)),
            view2=dict(size=224, augment=dict(
                scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.2, 0.1),
                blur=0.1, solarize=0.2)))),
        dict(type='PackInputs'),
    ]),
)
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=1600)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=40,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=40, T_max=1560,
         convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=1, by_epoch=True), logger=dict(interval=50))
auto_scale_lr = dict(base_batch_size=4096, enable=False)
# Across processes (harness/distributed.py; each value's source in the sources table): the whole model's BN synchronised
# (SyncBatchNorm), as the official code
batch_norm = 'global'
# the paper's batch of 4096, kept on fewer processes by gradient accumulation;
# --cfg-options paper_batch.scale_lr=True trains at the batch the processes give with the lr
# scaled by the paper's rule instead
paper_batch = dict(size=4096, lr_scaling='linear', scale_lr=False)
