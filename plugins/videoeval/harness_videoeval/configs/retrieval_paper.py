# Paper scale: 10 clips of 16 frames at 112 px (_base_/video_features_paper.py).
# Video retrieval (docs/methods.md §0): split 1, mean of 10 clip features per video, cosine
# similarity from test to train videos, R@k.
_base_ = ['./_base_/video_features_paper.py']

ks = (1, 5, 10, 20, 50)
