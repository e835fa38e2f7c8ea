/**
 * Early calls counted the way the request gate promises them: a request a worker sent while it
 * knew of a running cool-down — one it read itself from a throttling answer ('… asked to wait …',
 * with `waitMs`) or whose news had reached it ('cool-down news', `waitMs`). Read from a worker's
 * debug log lines (pino JSON, `time` as an ISO string or epoch ms, the 'request sent' line the
 * exchange client writes before each request).
 *
 * A count of zero is what the gate guarantees. Counting arrivals at the service instead (the
 * simulator's `callsInRetryAfterWindow`) also counts requests that were on their way, or sent by a
 * worker the news had not reached yet, when the answer left: those depend on the machine's load.
 */
export interface CausalCount {
  /** Requests sent. */
  sent: number;
  /** Requests sent while the sending worker knew of a running cool-down. */
  early: number;
  /** Throttling answers read, and news of them received. */
  answers: number;
  news: number;
  /** When (epoch ms) each answer was read and each news received, for how fast news travels. */
  answerTimes: number[];
  newsTimes: number[];
}

/** `logs`: one text per worker (its log lines in the order it wrote them). Lines before `fromMs` are skipped. */
export function causalEarlyCalls(logs: readonly string[], fromMs = 0): CausalCount {
  const count: CausalCount = { sent: 0, early: 0, answers: 0, news: 0, answerTimes: [], newsTimes: [] };
  for (const log of logs) {
    // Per worker process (pid) within one text: several processes may share a log file.
    const knownUntil = new Map<string, number>();
    for (const line of log.split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: { pid?: number; time?: number | string; msg?: string; waitMs?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      const time = typeof entry.time === 'string' ? Date.parse(entry.time) : entry.time;
      if (time === undefined || Number.isNaN(time) || time < fromMs) continue;
      const worker = String(entry.pid ?? '');
      const { msg } = entry;
      if ((msg?.includes('asked to wait') === true || msg === 'cool-down news') && typeof entry.waitMs === 'number') {
        knownUntil.set(worker, Math.max(knownUntil.get(worker) ?? 0, time + entry.waitMs));
        if (msg === 'cool-down news') {
          count.news += 1;
          count.newsTimes.push(time);
        } else {
          count.answers += 1;
          count.answerTimes.push(time);
        }
      } else if (msg === 'request sent') {
        count.sent += 1;
        // Log times are whole milliseconds: a send within 1 ms of a deadline is not counted.
        if (time + 1 < (knownUntil.get(worker) ?? 0)) count.early += 1;
      }
    }
  }
  return count;
}
