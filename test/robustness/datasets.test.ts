import cases from './datasets.cases.js';
import { runCases } from './harness.js';

runCases(cases);
