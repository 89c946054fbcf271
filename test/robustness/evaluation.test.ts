import cases from './evaluation.cases.js';
import { runCases } from './harness.js';

runCases(cases);
