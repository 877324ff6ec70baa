# Surface normals by regression: the ssl-transfer recipe with three outputs trained by 1 - cos
# (the prediction normalised), the encoder frozen.
_base_ = ['./_base_/dense_paper.py']

task = 'regress'
