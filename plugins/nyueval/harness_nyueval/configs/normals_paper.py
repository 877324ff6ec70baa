# Surface normals, the ssl-transfer protocol (_base_/dense_paper.py): the encoder frozen (BN in
# eval mode), 40 normal clusters (the dataset's vocab40.mat, else a k-means codebook of the train
# normals, as the record says), cross-entropy at 1/8 resolution, the prediction the softmax-
# weighted sum of the codewords; 13500 iterations of batch 2.
_base_ = ['./_base_/dense_paper.py']

task = 'classify40'
