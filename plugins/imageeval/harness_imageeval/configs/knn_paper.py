# Weighted kNN on frozen features (k = 20, T = 0.07: InstDisc / DINO / mmselfsup), 224-pixel
# centre crops of 256-pixel images.
_base_ = ['./_base_/image_features_paper.py']

knn = dict(k=20, temperature=0.07)
