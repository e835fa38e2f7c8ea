export { canonicalJson, definitionOf, hashJob, planRun, type PlanRunOptions, type RunDefinition, type RunPlan } from './plan.js';
