import cases from './datasets_chk.cases.js';
import { runCases } from './harness.js';

runCases(cases);
