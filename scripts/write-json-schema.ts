import { writeFile } from 'node:fs/promises';
import { renderJobsJsonSchema } from '../src/config/json-schema.js';

// Regenerates schema/jobs.schema.json from the zod schema (`npm run schema`).
await writeFile(new URL('../schema/jobs.schema.json', import.meta.url), renderJobsJsonSchema());
console.log('wrote schema/jobs.schema.json');
