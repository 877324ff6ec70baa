# Surface normals, demo sizes: classify40 on a frozen backbone (the ssl-transfer protocol of
# normals_paper.py) at the demo's scale (_base_/dense_demo.py).
_base_ = ['./_base_/dense_demo.py']

task = 'classify40'
