import cases from './evaluation_results.cases.js';
import { runCases } from './harness.js';

runCases(cases);
