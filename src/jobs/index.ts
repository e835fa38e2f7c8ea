export { canonicalJson, definitionOf, hashJob, planRun, planRuns, type PlanRunOptions, type RunDefinition, type RunPlan, type RunStep } from './plan.js';
export { evaluate, formatDate, resolveParameters, usesWindow, type TemplateContext } from './templates.js';
export { computeWindow, itemFailuresExceeded, type RunWindow } from './window.js';
export { describeDryRun, type DryRunInput, type ItemSample } from './dry-run.js';
