# VOC07 detection, demo sizes: the C4 detector of the paper config (faster_rcnn_c4.py) on the
# demo's 320 x 240 images, trained on VOC2007 trainval and tested on VOC2007 test. Differences
# from the paper config, all for a CPU, where res5 run on every RoI costs 95% of a step: BN
# instead of SyncBN, 8 x 8 RoIAlign (res5 then gives 4 x 4, not 7 x 7) on 32 RoIs per image,
# fewer proposals, and the demo data and schedule (_base_/demo_data.py: short side 160-224,
# test 192, 300 steps of 4 images; about 1 s a step on 2 cores with resnet18).
_base_ = ['./_base_/faster_rcnn_c4.py', './_base_/demo_data.py',
          './_base_/schedule_demo.py']

bn = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=bn),
    roi_head=dict(shared_head=dict(norm_cfg=bn),
                  bbox_roi_extractor=dict(roi_layer=dict(output_size=8)),
                  bbox_head=dict(roi_feat_size=4)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=2000, max_per_img=300),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=100)))
