# Frozen-backbone features for the linear, svm and retrieval protocols (specs/methods.md §0),
# demo size. Retrieval protocol: 10 clips with uniformly spaced centres per video, centre crop,
# features averaged per video (real data: 16 consecutive frames, resize 128x171, crop 112).
# The protocols share this sampling, so they share the cached features.
default_scope = 'mmaction'

clip_len, frame_interval, size = 8, 2, 32

feature_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=10,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 40)),
    dict(type='CenterCrop', crop_size=size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
data_preprocessor = dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], format_shape='NCTHW')
feature_loader = dict(batch_size=8, num_workers=2)
