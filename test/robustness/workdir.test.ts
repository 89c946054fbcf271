import cases from './workdir.cases.js';
import { runCases } from './harness.js';

runCases(cases);
