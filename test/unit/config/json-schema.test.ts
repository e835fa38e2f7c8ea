import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderJobsJsonSchema } from '../../../src/config/json-schema.js';

describe('schema/jobs.schema.json', () => {
  it('matches the zod schema (run `npm run schema` after changing it)', () => {
    const committed = readFileSync(path.join(import.meta.dirname, '../../../schema/jobs.schema.json'), 'utf8');
    expect(committed).toBe(renderJobsJsonSchema());
  });

  it('rejects unknown keys for editors too', () => {
    const schema = JSON.parse(renderJobsJsonSchema()) as { additionalProperties: unknown; required: string[] };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['version', 'tenants', 'jobs']);
  });
});
