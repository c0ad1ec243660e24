/** The static HTML report: the dashboard's page with one snapshot embedded, no server, no network. */
import type { Governor } from '../index.js';
import { pageHtml } from './html.js';
import { z } from 'zod';
import { parseInput } from '../core/index.js';
import { buildSnapshot, checkGovernor, snapshotOptionFields, type SnapshotOptions } from './snapshot.js';

/** Options of {@link renderReport}. */
export interface ReportOptions extends SnapshotOptions {
  /** Page title; default `agent-governor report`. */
  readonly title?: string | undefined;
}

const optionsSchema = z.object({ ...snapshotOptionFields, title: z.string().min(1).max(200).optional() }).strict();

/**
 * One self-contained HTML file (inline CSS, JS and data, charts included) with the
 * dashboard's views of `gov` as of now: attach it to an email or keep it as a CI artifact.
 */
export async function renderReport(gov: Governor, options: ReportOptions = {}): Promise<string> {
  checkGovernor(gov, 'gov');
  parseInput(optionsSchema, options, 'options');
  const { title, ...query } = options;
  const snapshot = await buildSnapshot(gov, query);
  return pageHtml({ title: title ?? 'agent-governor report', snapshot });
}
