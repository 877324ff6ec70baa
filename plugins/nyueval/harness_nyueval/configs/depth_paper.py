# Depth (Multi-task SSL's NYU transfer: the network fine-tuned, % of pixels within a ratio of
# 1.25): the dense recipe of _base_/dense_paper.py with one output in metres trained by L1 on
# the valid pixels, the backbone trained too. Multi-task's own depth network and schedule are
# not public; this keeps the normals recipe so the two NYU protocols share one setup.
_base_ = ['./_base_/dense_paper.py']

task = 'depth'
# The backbone is trained, its BatchNorm statistics are not re-estimated from batches of 2
# images (too few for batch statistics): they stay the pretrained ones, while the BN affine
# parameters train. [unverified] Multi-task SSL's own depth fine-tuning is not public.
model = dict(freeze_backbone=False, norm_eval=True)
