import { z } from 'zod';
import { jobsFileSchema } from './schema.js';

/**
 * The JSON Schema of jobs.yaml for editors (the YAML language server reads the `$schema` comment
 * at the top of jobs.yaml). Generated from the same zod schema the loader uses, so the two cannot
 * drift; a unit test fails when schema/jobs.schema.json is stale (`npm run schema` rewrites it).
 */
export function buildJobsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(jobsFileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    // Top-level x- keys hold the file's own anchors (see EXTENSION_KEY_PREFIX in load.ts).
    patternProperties: { '^x-': {} },
    $id: 'https://exorun.dev/schema/jobs.schema.json',
    title: 'exorun jobs.yaml',
    description: 'Scheduled Exchange Online and Security & Compliance cmdlets. See docs/jobs-yaml.md.',
  };
}

export function renderJobsJsonSchema(): string {
  return `${JSON.stringify(buildJobsJsonSchema(), null, 2)}\n`;
}
