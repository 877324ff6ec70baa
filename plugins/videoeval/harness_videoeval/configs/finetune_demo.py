# Finetune protocol (UCF101/HMDB51), demo schedule: mmaction2's Recognizer3D, VideoDataset and
# AccMetric. The harness sets model.backbone (with the SSL weights as init_cfg), num_classes,
# in_channels, the annotation lists, the data prefix and the seed.
# Demo inputs are 8 frames (every 2nd) at 32 px; 3 uniformly spaced clips x 1 centre crop per
# test video, softmax averaged. finetune_paper.py has the real sizes.
default_scope = 'mmaction'
custom_imports = dict(imports=['harness_backbones.video'],
                      allow_failed_imports=False)

model = dict(
    type='Recognizer3D',
    backbone=dict(type='harness.R3D18'),
    cls_head=dict(type='I3DHead', num_classes=101, in_channels=512, spatial_type='avg',
                  dropout_ratio=0.0, init_std=0.01, average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'),
)

train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoDataset', ann_file=None, data_prefix=dict(video=None), pipeline=[
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, 40)),
        dict(type='RandomResizedCrop', area_range=(0.9, 1.0)),
        dict(type='Resize', scale=(32, 32), keep_ratio=False),
        dict(type='Flip', flip_ratio=0.5),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=None, data_prefix=dict(video=None),
                 test_mode=True, pipeline=[
                     dict(type='DecordInit'),
                     dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=3,
                          test_mode=True),
                     dict(type='DecordDecode'),
                     dict(type='Resize', scale=(-1, 40)),
                     dict(type='CenterCrop', crop_size=32),
                     dict(type='FormatShape', input_format='NCTHW'),
                     dict(type='PackActionInputs'),
                 ]))
test_evaluator = dict(type='AccMetric')

# 90 epochs of the 40 demo train videos (450 steps), the cosine below annealed over all of them.
# Chosen on a validation demo (the UCF101 demo generated with seed 1 at the default sizes: 40
# train and 80 test videos, one video 1.25 points), never on the demo's test split, by
# experiments/demo_eval_settings.py (seed 0; r3d18-slim; the pretrained rows pretrained on the
# demo Kinetics-400 with their demo configs). Grid: max_epochs = T_max in {12, 24, 40, 60, 90}.
# Rule, fixed before measuring: the highest mean top-1 over the pretrained rows (the two
# reference rows are reported but take no part); settings within 1 point of it tie, and a tie
# goes to the fewer epochs. Top-1 (%):
#   epochs                      12     24     40     60     90
#   random                   30.00  42.50  53.75  52.50  66.25
#   random (bn_calibrated)   30.00  42.50  53.75  52.50  66.25
#   brave                    25.00  37.50  55.00  61.25  56.25
#   transrank                72.50  76.25  82.50  80.00  88.75
#   moco                     32.50  36.25  43.75  55.00  65.00
#   pretrained mean          43.33  50.00  60.42  65.42  70.00  -> 90
# 90 is the grid's longest and the mean still rose there (one seed; 80 test videos per cell).
# The two reference rows agree because finetuning trains every BatchNorm layer, replacing the
# calibrated statistics. (The earlier 60 epochs had been chosen with random init alone.)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=90, val_interval=1000)

# Demo: batch 8 and a few hundred steps, so AdamW (SGD at this batch size was unstable here).
# Measured: with crops of area 0.5-1.0 and dropout 0.5 a random-init R3D-18 stayed near
# chance after 144 steps; with area 0.9-1.0 and no dropout it learned.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=90, eta_min=0, by_epoch=True)]

# What this protocol changes of the evaluation runtime (harness/configs/_base_/eval_runtime.py):
# epochs as the unit (logs averaged within each epoch, mmengine's default, and checkpoints by
# epoch), logs every 5 steps, a checkpoint every 10 epochs (an 800 MB R3D-18 save each epoch was
# a tenth of the demo's finetuning).
log_processor = dict(window_size=10, by_epoch=True)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=10, by_epoch=True))
