import type { CommittedOutput } from '../../core/index.js';
import type { RunStep } from '../../core/index.js';
import { resolveParameters } from '../../jobs/index.js';
import { currentLease, invokeStep, releaseAsFence, type StepContext } from './step-context.js';

/**
 * One cmdlet call, its pages streamed into the step's files as they arrive. The run's last step
 * gives its slot back as soon as the last page is in (before writing it and committing): nothing
 * more is sent, and the release is the fencing check the commit needs.
 */
export async function runPlainStep(context: StepContext, step: RunStep, isLastStep: boolean): Promise<CommittedOutput> {
  const parameters = resolveParameters(step.parameters, context.templates);
  const opening = context.openOutput(step, parameters);
  const lease = currentLease(context);
  let released = false;
  for await (const page of invokeStep(context, step, parameters, lease, context.signal)) {
    if (page.last && isLastStep) {
      released = true;
      await releaseAsFence(context, lease);
    }
    await (await opening).writePage(page);
    context.pageWritten(step, page);
  }
  if (isLastStep && !released) await releaseAsFence(context, lease);
  return (await opening).commit();
}
