# The model every transformation-recognition method shares: the backbone's pooled features
# into one MLP head (512 hidden) per family of transformations (temporal, rotation), scored by
# a ranking loss with margin 1 (TransRank) or cross-entropy (TransCls and the RecogTrans
# baselines). A method's file (./<method>.py) sets its transformations and its loss.
model = dict(type='TransformationRecognizer',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.R3D18'),
             margin=1.0, hidden_dim=512)
