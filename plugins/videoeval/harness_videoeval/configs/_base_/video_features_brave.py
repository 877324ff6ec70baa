# Frozen-backbone features as BraVe's evaluation samples them at test time (docs/methods.md §0,
# google-deepmind/brave): 10 uniformly spaced clips of 32 frames (every 2nd) x 3 spatial crops
# (short side 256, 224-px crops). Deviation: BraVe trains its classifier on random augmented
# clips (crop area 0.3-1, flip, colour) over 10 passes; here train and test videos share this
# deterministic sampling, so their features are extracted once and cached.
_base_ = ['./video_features_demo.py']

feature_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
feature_loader = dict(batch_size=4, num_workers=8)
