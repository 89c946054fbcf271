import cases from './tools.cases.js';
import { runCases } from './harness.js';

runCases(cases);
