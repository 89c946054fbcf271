/**
 * YOLOv3 (Redmon & Farhadi, "YOLOv3: An Incremental Improvement", 2018) as
 * mmdetection's `YOLOV3`: a single-stage detector, usually Darknet-53 ->
 * YOLOV3Neck -> YOLOV3Head.
 */
import { MODELS } from '../registry.js';
import '../heads/yolov3_head.js';
import { SingleStageDetector } from './single_stage.js';

/**
 * @example
 * ```ts
 * const model = MODELS.build<YOLOV3>((await loadConfig('configs/yolo/yolov3_d53_8xb8-ms-608-273e_coco.ts')).model);
 * model.loss(batch); // loss_cls (3 levels), loss_conf, loss_xy, loss_wh
 * ```
 */
export class YOLOV3 extends SingleStageDetector {}

MODELS.register(YOLOV3, { name: 'YOLOV3' });
