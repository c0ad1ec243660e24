export { serveDashboard, isLoopback, type DashboardOptions, type DashboardServer } from './server.js';
export { renderReport, type ReportOptions } from './report.js';
export { buildSnapshot, ACTIVITY_DAYS, type AlertView, type BudgetView, type DashboardSnapshot, type SnapshotOptions } from './snapshot.js';
