import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { RUNS_QUEUE, TICKS_QUEUE } from './run-queue.js';

/** The runs and ticks queues, opened read-write on one connection (the dashboard shows both). */
export interface OpenQueues {
  readonly queues: readonly Queue[];
  close(): Promise<void>;
}

export function openQueues(options: { connection: Redis; prefix: string }): OpenQueues {
  const queues = [RUNS_QUEUE, TICKS_QUEUE].map((name) => {
    const queue = new Queue(name, { connection: options.connection, prefix: options.prefix });
    // The connection reports outages; without a listener BullMQ prints each error with its stack.
    queue.on('error', () => undefined);
    return queue;
  });
  return {
    queues,
    async close() {
      await Promise.all(queues.map((queue) => queue.close()));
    },
  };
}
