"""Detection transfer through mmdet (PASCAL VOC 2007, COCO). In progress: the metrics are
built; the evaluators are not registered yet."""
