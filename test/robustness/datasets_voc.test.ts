import cases from './datasets_voc.cases.js';
import { runCases } from './harness.js';

runCases(cases);
