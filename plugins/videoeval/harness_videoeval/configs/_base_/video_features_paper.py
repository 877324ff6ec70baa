# Frozen-backbone features at the retrieval protocol's size (docs/methods.md §0, as
# xudejing/video-clip-order-prediction samples them): 10 clips of 16 consecutive frames with
# uniformly spaced centres per video, resized to 128 x 171, centre crop 112.
_base_ = ['./video_features_demo.py']

feature_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=1, num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(171, 128), keep_ratio=False),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
feature_loader = dict(batch_size=16, num_workers=8)
