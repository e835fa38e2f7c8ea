/** The operator endpoint: metrics, health checks and (when enabled) the dashboard. */
export { type OpsServer, type ReadinessCheck, startOpsServer } from './http-server.js';
