import cases from './train.cases.js';
import { runCases } from './harness.js';

runCases(cases);
