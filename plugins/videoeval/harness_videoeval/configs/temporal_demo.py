# Temporal probes on frozen features (the temporal evaluator: order, sync, motion; definitions in
# harness_videoeval/temporal.py), demo size. A clip is clip_len frames every
# frame_interval frames, shorter side resized to size, centre crop size x size, no augmentation.
# order and sync draw pairs_per_video pairs from each video; order keeps at least min_gap frames
# between its two clips; motion averages the features of motion_clips uniformly spaced clips.
# The probe: StandardScaler + LogisticRegression(C, max_iter); batch_size clips per forward.
clip_len, frame_interval, size = 8, 2, 32
pairs_per_video = 4
min_gap = 0
motion_clips = 4
classifier = dict(type='logistic', C=1.0, max_iter=2000)
batch_size = 16
