/** mmengine's `IterTimerHook`. */
import { z } from 'zod';
import { Hook, type Priority } from './hook.js';
import { priority } from './priority.js';
import { HOOKS } from '../../registry.js';

/** Times each iteration (`time`) and the wait for its batch (`data_time`); the logger reads them. */
export class IterTimerHook extends Hook {
  static readonly configSchema = z.strictObject({ priority });
  override priority: Priority = 'NORMAL';
  private last = 0;
  /** Seconds of the last iteration and of its data wait. */
  time = 0;
  dataTime = 0;
  /** Mean iteration time since the start (or resume) of training, for the ETA. */
  private sum = 0;
  private count = 0;

  override beforeTrainEpoch(): void {
    this.last = performance.now();
  }
  override beforeValEpoch(): void {
    this.last = performance.now();
  }
  override beforeTestEpoch(): void {
    this.last = performance.now();
  }
  override beforeTrainIter(): void {
    this.dataTime = (performance.now() - this.last) / 1000;
  }
  override beforeValIter(): void {
    this.dataTime = (performance.now() - this.last) / 1000;
  }
  override beforeTestIter(): void {
    this.dataTime = (performance.now() - this.last) / 1000;
  }
  private tick(train: boolean): void {
    const now = performance.now();
    this.time = (now - this.last) / 1000;
    this.last = now;
    if (train) {
      this.sum += this.time;
      this.count++;
    }
  }
  override afterTrainIter(): void {
    this.tick(true);
  }
  override afterValIter(): void {
    this.tick(false);
  }
  override afterTestIter(): void {
    this.tick(false);
  }
  /** Seconds left at the mean iteration time. */
  eta(remainingIters: number): number {
    return this.count ? (this.sum / this.count) * remainingIters : NaN;
  }
}

HOOKS.register(IterTimerHook, { name: 'IterTimerHook' });
