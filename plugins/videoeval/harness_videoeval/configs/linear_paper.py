# Paper scale: features as BraVe samples them (_base_/video_features_brave.py).
# Linear probe on frozen features: standardized features, multinomial logistic regression on
# every train clip, clip probabilities averaged per test video.
_base_ = ['./_base_/video_features_brave.py']

classifier = dict(type='logistic', C=1.0, max_iter=2000)
