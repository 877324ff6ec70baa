# Faster R-CNN C4 for an SSL ResNet, as MoCo (detectron2 Base-RCNN-C4-BN, *_moco.yaml) and
# mmselfsup run it (docs/image-evals.md §1):
# - backbone: mmdet ResNet, stem + res2-res4 (stride 16), style 'pytorch' (torchvision's layout
#   and parameter names), BN trained (SyncBN in multi-GPU runs; mmengine makes it BN on one
#   process) with norm_eval=False, no frozen stages;
# - RoI shared head: res5 + one extra BN (harness.ResLayerExtraNorm = MoCo's
#   Res5ROIHeadsExtraNorm), 14x14 RoIAlign -> res5 (stride 2) -> avg pool -> BBoxHead.
# None: set by the harness from --backbone (depth, base_channels, channel counts, the SSL
# weights as init_cfg of the backbone AND of the shared head) and the dataset (num_classes).
_base_ = ['./faster_rcnn.py']

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(type='ResNet', depth=None, base_channels=None, num_stages=3,
                  strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2,), frozen_stages=-1,
                  norm_cfg=norm_cfg, norm_eval=False, style='pytorch', init_cfg=None),
    rpn_head=dict(in_channels=None, feat_channels=None,
                  anchor_generator=dict(type='AnchorGenerator', scales=[2, 4, 8, 16, 32],
                                        ratios=[0.5, 1.0, 2.0], strides=[16])),
    roi_head=dict(
        shared_head=dict(type='harness.ResLayerExtraNorm', depth=None, base_channels=None,
                         stage=3, stride=2, dilation=1, style='pytorch', norm_cfg=norm_cfg,
                         norm_eval=False, extra_norm=True, init_cfg=None),
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=None, featmap_strides=[16]),
        bbox_head=dict(type='BBoxHead', with_avg_pool=True, roi_feat_size=7,
                       in_channels=None)))
