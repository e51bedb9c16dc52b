// The calibration's Piscina worker: runs units (one instrument, one candidate threshold per channel) over the input's
// columns, which arrive once in workerData as SharedArrayBuffers and are read in place by every worker.
import { workerData } from 'piscina';
import type { CalibrationColumns } from './data.js';
import { runUnit, type UnitResult, type UnitTask } from './run.js';

const data = workerData as { columns: CalibrationColumns };

export default function run(task: UnitTask): UnitResult {
  return runUnit(data.columns, task);
}
