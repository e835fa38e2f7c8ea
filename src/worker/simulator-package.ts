import { AppError } from '../core/index.js';

/**
 * What exorun uses of the `@exorun/simulator` workspace package, declared here rather than
 * imported: product modules never import the simulator statically, so a worker serving real
 * tenants does not load a fake Microsoft 365. `startSimulator` loads the package on first use, and
 * the compiler still checks that the package satisfies these shapes at that one call.
 */

/** Origins (`https://host:port`, no trailing slash) of a running simulator's four listeners. */
export interface SimulatorUrls {
  login: string;
  exo: string;
  ipps: string;
  ippsRegional: string;
}

/** A simulated tenant to create (idempotent for its data: same organization, same ids and objects). */
export interface SimulatedTenantRequest {
  organization: string;
  /** A certificate from jobs.yaml to register on the tenant's app, besides the generated one. */
  certificatePem?: string;
  /** The app id jobs.yaml names; default: one derived from the organization. */
  clientId?: string;
  seed?: number;
  mailboxCount?: number;
  latencyMs?: number;
  concurrencyCap?: number;
}

/** A provisioned simulated tenant: its ids and the app certificate the simulator generated. */
export interface SimulatedTenantCredentials {
  tenantId: string;
  organization: string;
  clientId: string;
  certificatePem: string;
  privateKeyPem: string;
}

/** A simulator this process started. */
export interface RunningSimulator {
  readonly urls: Readonly<SimulatorUrls>;
  readonly caCertPem: string;
  /** Kept so `exorun simulate` can reuse its CA across restarts. */
  readonly caKeyPem: string;
  /** Bearer of the simulator's control API (provisioning, device-code approval). */
  readonly adminKey: string;
  provisionTenant(request: SimulatedTenantRequest): Promise<SimulatedTenantCredentials>;
  close(): Promise<void>;
}

/** The options `exorun simulate` and simulated tenants pass when they start one. */
export interface SimulatorStartOptions {
  bindHost?: string;
  publicHost?: string;
  ports?: Partial<Record<keyof SimulatorUrls, number>>;
  ca?: { certPem: string; keyPem: string };
  latencyMs?: number;
  concurrencyCap?: number;
  tokenLifetimeSec?: number;
  deviceCodeAutoApproveMs?: number;
  earlyRetryGraceMs?: number;
}

/** Loads `@exorun/simulator` and starts a simulator. */
export async function startSimulator(options: SimulatorStartOptions = {}): Promise<RunningSimulator> {
  const simulator = await loadSimulatorPackage();
  return simulator.startSimulator(options);
}

// The return type is left to inference: naming it would be a static (type) import of the package.
async function loadSimulatorPackage() {
  try {
    return await import('@exorun/simulator');
  } catch (error) {
    // Not installed, or installed without its build: say what to do instead of a bare stack.
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new AppError(
        'SIMULATOR_UNAVAILABLE',
        `The simulator package @exorun/simulator cannot be loaded (${(error as Error).message}), so \`cloud: simulated\` tenants and \`exorun simulate\` cannot run. Install exorun from its repository with \`npm ci\` (which builds the package), or use a real tenant.`,
        { cause: error, retryable: false },
      );
    }
    throw error;
  }
}
