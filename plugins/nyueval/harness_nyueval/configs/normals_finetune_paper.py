# Surface normals, classify40 with the whole network trained (backbone BN in train mode): the
# ssl-transfer recipe without its freeze_until.
_base_ = ['./_base_/dense_paper.py']

task = 'classify40'
model = dict(freeze_backbone=False)
