# COCO data of the SSL detection benchmarks' 1x schedule (MoCo / mmselfsup "ms-1x";
# docs/image-evals.md §1): the VOC recipe (voc_paper_data.py) on CocoDataset, train2017 at short
# side 640-800 (steps of 32, long side <= 1333) with a horizontal flip, val2017 at short side
# 800, one pass over the data per epoch (DefaultSampler). 2 images per GPU.
_base_ = ['./voc_paper_data.py']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(640, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(sampler=dict(type='DefaultSampler'),
                        dataset=dict(type='CocoDataset', pipeline=train_pipeline))
test_dataloader = dict(dataset=dict(type='CocoDataset'))
