import { randomBytes, randomInt } from 'node:crypto';

/** What the code was requested for. */
export interface DeviceCodeRequest {
  /** Undefined when requested at `/organizations` or `/common`: the approving user decides. */
  tenantId: string | undefined;
  /** The path segment as sent, for listings. */
  tenantSegment: string;
  clientId: string;
  scope: string;
}

export type DeviceCodeState = 'pending' | 'approved' | 'declined' | 'redeemed' | 'expired';

export interface DeviceCodeEntry extends DeviceCodeRequest {
  deviceCode: string;
  userCode: string;
  issuedAtMs: number;
  expiresAtMs: number;
  state: DeviceCodeState;
  /** Set once approved. */
  approval?: { tenantId: string; upn: string };
}

export type PollResult =
  | { state: 'unknown' | 'pending' | 'declined' | 'expired' | 'redeemed'; entry?: DeviceCodeEntry }
  | { state: 'approved'; entry: DeviceCodeEntry; approval: { tenantId: string; upn: string } };

export interface DeviceCodeStore {
  issue(request: DeviceCodeRequest, nowMs: number): DeviceCodeEntry;
  /** A code still waiting for the user (case and dashes in `userCode` do not matter). */
  findPending(userCode: string, nowMs: number): DeviceCodeEntry | undefined;
  approve(userCode: string, approval: { tenantId: string; upn: string }, nowMs: number): boolean;
  decline(userCode: string, nowMs: number): boolean;
  /** The code as issued, without changing it (for checks before a poll). */
  peek(deviceCode: string): DeviceCodeEntry | undefined;
  /** The token endpoint's view; an approved code is handed out once and is `redeemed` afterwards. */
  poll(deviceCode: string, nowMs: number): PollResult;
  pending(nowMs: number): DeviceCodeEntry[];
}

export interface DeviceCodeStoreOptions {
  lifetimeSec: number;
  /** Approve codes this long after issue; undefined = never automatically. */
  autoApproveMs?: number;
  /** Who an automatic approval signs in; undefined leaves the code pending (e.g. a code at /organizations). */
  autoApproveAs(entry: DeviceCodeEntry): { tenantId: string; upn: string } | undefined;
  /** Told about every approval, manual or automatic (for counters). */
  onApproved?(entry: DeviceCodeEntry): void;
}

/** Letters and digits people do not confuse (no 0/O, 1/I/L). */
const USER_CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const USER_CODE_LENGTH = 9;
/** How long a decided or expired code is remembered, so late polls get a precise answer. */
const LINGER_MS = 15 * 60_000;

/**
 * The device authorization grant's state machine: pending → approved → redeemed, or declined,
 * or expired. Transitions that depend on time (expiry, automatic approval) are applied when a
 * code is looked at, so no timers run and tests can drive time.
 */
export function createDeviceCodeStore(options: DeviceCodeStoreOptions): DeviceCodeStore {
  const byDeviceCode = new Map<string, DeviceCodeEntry>();
  const byUserCode = new Map<string, DeviceCodeEntry>();
  let issuedSinceSweep = 0;

  function advance(entry: DeviceCodeEntry, nowMs: number): DeviceCodeEntry {
    if ((entry.state === 'pending' || entry.state === 'approved') && nowMs >= entry.expiresAtMs) entry.state = 'expired';
    if (entry.state === 'pending' && options.autoApproveMs !== undefined && nowMs >= entry.issuedAtMs + options.autoApproveMs) {
      const approval = options.autoApproveAs(entry);
      if (approval) approveEntry(entry, approval);
    }
    return entry;
  }

  function approveEntry(entry: DeviceCodeEntry, approval: { tenantId: string; upn: string }): void {
    entry.state = 'approved';
    entry.approval = approval;
    options.onApproved?.(entry);
  }

  function sweep(nowMs: number): void {
    for (const [code, entry] of byDeviceCode) {
      if (nowMs < entry.expiresAtMs + LINGER_MS) continue;
      byDeviceCode.delete(code);
      byUserCode.delete(entry.userCode);
    }
  }

  function newUserCode(): string {
    for (;;) {
      let code = '';
      for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET.charAt(randomInt(USER_CODE_ALPHABET.length));
      if (!byUserCode.has(code)) return code;
    }
  }

  const normalise = (userCode: string): string => userCode.replace(/[\s-]/g, '').toUpperCase();

  function findPending(userCode: string, nowMs: number): DeviceCodeEntry | undefined {
    const entry = byUserCode.get(normalise(userCode));
    return entry && advance(entry, nowMs).state === 'pending' ? entry : undefined;
  }

  return {
    issue(request, nowMs) {
      if (++issuedSinceSweep >= 64) {
        issuedSinceSweep = 0;
        sweep(nowMs);
      }
      const entry: DeviceCodeEntry = {
        ...request,
        deviceCode: `DAQABIQEAAAB${randomBytes(96).toString('base64url')}`,
        userCode: newUserCode(),
        issuedAtMs: nowMs,
        expiresAtMs: nowMs + options.lifetimeSec * 1000,
        state: 'pending',
      };
      byDeviceCode.set(entry.deviceCode, entry);
      byUserCode.set(entry.userCode, entry);
      return entry;
    },
    findPending,
    approve(userCode, approval, nowMs) {
      const entry = findPending(userCode, nowMs);
      if (!entry) return false;
      approveEntry(entry, approval);
      return true;
    },
    decline(userCode, nowMs) {
      const entry = findPending(userCode, nowMs);
      if (!entry) return false;
      entry.state = 'declined';
      return true;
    },
    peek: (deviceCode) => byDeviceCode.get(deviceCode),
    poll(deviceCode, nowMs) {
      const found = byDeviceCode.get(deviceCode);
      if (!found) return { state: 'unknown' };
      const entry = advance(found, nowMs);
      if (entry.state === 'approved' && entry.approval) {
        entry.state = 'redeemed';
        return { state: 'approved', entry, approval: entry.approval };
      }
      return { state: entry.state === 'approved' ? 'pending' : entry.state, entry };
    },
    pending(nowMs) {
      return [...byDeviceCode.values()].filter((entry) => advance(entry, nowMs).state === 'pending');
    },
  };
}
