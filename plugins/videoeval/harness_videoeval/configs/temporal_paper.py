# Temporal probes at the papers' clip size: 16 frames (every 2nd) at 112 px.
_base_ = ['./temporal_demo.py']

clip_len, frame_interval, size = 16, 2, 112
batch_size = 8
