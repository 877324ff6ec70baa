"""Detection dataset layouts for ssl-harness: ``voc07`` (PASCAL VOC 2007) and ``coco`` (COCO
2017), read as they lie on disk, and demo generators writing both layouts."""
