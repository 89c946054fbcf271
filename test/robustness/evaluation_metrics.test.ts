import cases from './evaluation_metrics.cases.js';
import { runCases } from './harness.js';

runCases(cases);
