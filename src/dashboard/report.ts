/** The static HTML report: the dashboard's page with one snapshot embedded, no server, no network. */
import type { Governor } from '../index.js';
import { pageHtml } from './html.js';
import { buildSnapshot, type SnapshotOptions } from './snapshot.js';

/** Options of {@link renderReport}. */
export interface ReportOptions extends SnapshotOptions {
  /** Page title; default `agent-governor report`. */
  readonly title?: string | undefined;
}

/**
 * One self-contained HTML file (inline CSS, JS and data, charts included) with the
 * dashboard's views of `gov` as of now: attach it to an email or keep it as a CI artifact.
 */
export async function renderReport(gov: Governor, options: ReportOptions = {}): Promise<string> {
  const snapshot = await buildSnapshot(gov, options);
  return pageHtml({ title: options.title ?? 'agent-governor report', snapshot });
}
