# Frozen-backbone features for the linear, svm and retrieval protocols (docs/methods.md §0),
# demo size: 10 clips of 8 frames (every 2nd) with uniformly spaced centres per video, short
# side 40, centre crop 32. The protocols share this sampling, so they share the cached
# features. The harness sets the backbone (with the pretrained weights) and the seed.
default_scope = 'mmaction'
custom_imports = dict(imports=['harness_backbones.video'],
                      allow_failed_imports=False)

feature_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 40)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
data_preprocessor = dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], format_shape='NCTHW')
feature_loader = dict(batch_size=8, num_workers=2)
