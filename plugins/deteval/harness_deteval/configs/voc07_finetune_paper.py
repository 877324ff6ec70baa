# VOC07 detection, the MoCo protocol (detectron2 pascal_voc_R_50_C4_24k_moco.yaml, mmselfsup
# faster-rcnn_r50-c4_ms-24k_voc0712.py; docs/image-evals.md §1): Faster R-CNN R50-C4 with res5 +
# extra BN as the RoI head, SyncBN, trained on VOC2007+2012 trainval (ConcatDataset) at short
# side 480-800, tested on VOC2007 test at 800; 24k iterations at batch 16 (2 images x 8 GPUs),
# lr 0.02, x0.1 at 18k and 22k; five fine-tuning trials by default.
_base_ = ['./_base_/faster_rcnn_c4.py', './_base_/voc_paper_data.py',
          './_base_/schedule_24k.py']

train_sets = ['VOC2007', 'VOC2012']
