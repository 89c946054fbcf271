/**
 * Task utilities of the dense heads, registered in TASK_UTILS: assigners and
 * samplers. The prior generators and box coders live in `src/ops` and
 * register themselves there; importing this module imports them too.
 */
import '../ops/index.js';
export * from './assigners.js';
export * from './samplers.js';
export * from './grid_assigner.js';
