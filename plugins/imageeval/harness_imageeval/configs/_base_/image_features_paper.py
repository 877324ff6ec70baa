# Frozen-backbone features as the kNN and linear protocols of MoCo, DINO and mmselfsup take
# them: shorter side resized to 256, centre 224 x 224 crop, ImageNet normalisation.
_base_ = ['./image_features_demo.py']

feature_pipeline = [
    dict(type='mmcv.LoadImageFromFile'),
    dict(type='mmcv.Resize', scale=(256, 100000), keep_ratio=True),  # shorter side 256
    dict(type='mmcv.CenterCrop', crop_size=224),
    dict(type='PackImage'),
]
feature_loader = dict(batch_size=128, num_workers=8)
