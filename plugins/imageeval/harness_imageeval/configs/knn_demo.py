# Weighted kNN on frozen features (k = 20, T = 0.07: InstDisc / DINO / mmselfsup), demo sizes.
_base_ = ['./_base_/image_features_demo.py']

knn = dict(k=20, temperature=0.07)
