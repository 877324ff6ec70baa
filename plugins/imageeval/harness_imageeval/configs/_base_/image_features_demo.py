# Frozen-backbone features of the demo's 64-pixel images: shorter side resized to 64, centre
# 56 x 56 crop (the 224/256 ratio of the paper sampling), ImageNet normalisation.
default_scope = 'harness'

feature_pipeline = [
    dict(type='mmcv.LoadImageFromFile'),
    dict(type='mmcv.Resize', scale=(64, 100000), keep_ratio=True),  # shorter side 64
    dict(type='mmcv.CenterCrop', crop_size=56),
    dict(type='PackImage'),
]
data_preprocessor = dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
feature_loader = dict(batch_size=32, num_workers=2)
