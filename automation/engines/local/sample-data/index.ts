// The sample financial-planning database of the lab: generator and churn (its invariants and
// fingerprints are verification, in verify/).
export { createSampleDatabase, households, HOUSEHOLDS_PER_SCALE, GENERATOR_VERSION, type SampleOptions, type SampleSummary } from "./generate";
export { applyChurn, type ChurnSummary } from "./churn";
export { SAMPLE_SCHEMA, businessTables, sampleTables } from "./schema";
