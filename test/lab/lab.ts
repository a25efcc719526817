/**
 * The network-namespace lab for tests: a typed view of lab.mjs, which holds the implementation in
 * plain JS so the benchmarks (bare `node`) and lab-cli.mjs can use the very same code.
 * See test/lab/README.md for the host table and how to bring a lab up by hand.
 */
export {
  LAB_HOSTS,
  LAB_HOST_NAMES,
  LAB_NET,
  RECORD_DIR,
  attachLab,
  cleanupStale,
  expectationsOf,
  expectedState,
  labAvailable,
  labUnavailableReason,
  listLabs,
  nftRuleset,
  samplePorts,
  startLab,
  teardownPrefix,
} from './lab.mjs';
export type {
  Lab,
  LabExecOptions,
  LabExecResult,
  LabFamily,
  LabHost,
  LabHostName,
  LabHostSpec,
  LabOptions,
  LabOutcome,
  LabPortExpectation,
  LabPortRange,
  LabReason,
  LabRecord,
  LabState,
} from './lab.mjs';
