import cases from './config.cases.js';
import { runCases } from './harness.js';

runCases(cases);
