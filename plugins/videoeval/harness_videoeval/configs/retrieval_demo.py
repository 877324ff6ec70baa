# Video retrieval (docs/methods.md §0): split 1, mean of 10 clip features per video, cosine
# similarity from test to train videos, R@k.
_base_ = ['./_base_/video_features_demo.py']

ks = (1, 5, 10, 20, 50)
