// The sample financial-planning database of the lab: generator, churn, invariants.
export { createSampleDatabase, households, HOUSEHOLDS_PER_SCALE, GENERATOR_VERSION, type SampleOptions, type SampleSummary } from "./generate";
export { applyChurn, type ChurnSummary } from "./churn";
export { sampleInvariants } from "../../../verify/invariants";
export { SAMPLE_SCHEMA, businessTables, sampleTables } from "./schema";
