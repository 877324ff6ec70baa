# BraVe's linear protocol (docs/methods.md §0): standardized features, LinearSVC(C), decision
# values averaged over a test video's clips. BraVe's README uses C = 1e-4.
_base_ = ['./_base_/video_features_demo.py']

classifier = dict(type='svm', C=1e-4, max_iter=10000)
