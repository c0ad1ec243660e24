/**
 * `agent-governor report`: build the HTML report from a RedisStore ledger. Reads through
 * the same analytics a governor has (the raw ledger, or with `--rollups` the rollups the
 * producing governors keep), prices nothing anew, writes one file.
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { createGovernor, SCOPE_LEVELS, type Scope } from '../index.js';
import { RedisStore, type RedisClient } from '../redis/index.js';
import { renderReport } from '../dashboard/index.js';

/** Where the CLI writes: injectable so tests capture it. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** True when stderr is a terminal (draw the progress bar in place). */
  readonly tty: boolean;
}

const LEVELS: readonly string[] = SCOPE_LEVELS;

function parseScope(value: string, previous: Scope = {}): Scope {
  const out: Record<string, string> = { ...(previous as Record<string, string>) };
  for (const part of value.split(',')) {
    const m = /^(\w+)=(.+)$/.exec(part.trim());
    if (m === null || !LEVELS.includes(m[1] as string)) {
      throw new InvalidArgumentError(`expected level=id with level one of ${LEVELS.join(', ')} (got ${part})`);
    }
    out[m[1] as string] = m[2] as string;
  }
  return out as Scope;
}

function parseTime(value: string): number {
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new InvalidArgumentError(`expected an ISO date or epoch ms (got ${value})`);
  return t;
}

/** A one-line bar: `reading ledger [##########----------]  50%`. */
export function progressBar(fraction: number, width = 30): string {
  const f = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(f * width);
  return `reading ledger [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

/** The CLI's commands; `run(argv)` parses and runs them. */
export function buildProgram(
  io: CliIo,
  connect: (url: string) => Promise<RedisClient & { quit(): Promise<unknown> }> = connectIoredis,
): Command {
  const program = new Command('agent-governor')
    .description('agent-governor command line')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  program
    .command('report')
    .description('Write a self-contained HTML cost report from a RedisStore ledger')
    .requiredOption('--redis <url>', 'Redis URL, e.g. redis://127.0.0.1:6379')
    .option('--prefix <prefix>', 'RedisStore key prefix the governors use', 'ag')
    .option('--scope <level=id,...>', 'scope of the report (repeatable), e.g. project=p1', parseScope)
    .option('--period <period>', 'day, week or month (calendar, UTC, up to now)', 'month')
    .option('--from <time>', 'start (ISO date or epoch ms); with --to instead of --period', parseTime)
    .option('--to <time>', 'end, exclusive (default now)', parseTime)
    .option('--currency <code>', "the governors' currency", 'USD')
    .option('--rollups', 'read the rollups the governors keep (run with analytics: { rollups: true }) instead of scanning the ledger')
    .option('--title <title>', 'page title')
    .option('--no-progress', 'no progress bar on stderr')
    .requiredOption('--out <file>', 'HTML file to write')
    .action(async (o: ReportCommandOptions) => {
      if (!['day', 'week', 'month'].includes(o.period))
        throw new InvalidArgumentError(`--period must be day, week or month (got ${o.period})`);
      const client = await connect(o.redis);
      const gov = createGovernor({
        store: new RedisStore({ client, prefix: o.prefix }),
        currency: o.currency,
        // Scanning the ledger is the default, as governors keep no rollups unless asked to.
        analytics: { rollups: o.rollups === true },
      });
      let shown = -1;
      const onProgress = (f: number): void => {
        if (o.progress === false) return;
        const pct = Math.floor(f * 100);
        if (pct === shown) return;
        shown = pct;
        // On a terminal the bar redraws in place; into a log, only the end is written.
        if (io.tty) io.stderr(`\r${progressBar(f)}`);
        else if (f >= 1) io.stderr(`${progressBar(f)}\n`);
      };
      try {
        const period =
          o.from !== undefined ? { from: o.from, ...(o.to === undefined ? {} : { to: o.to }) } : (o.period as 'day' | 'week' | 'month');
        const html = await renderReport(gov, { scope: o.scope, period, onProgress, title: o.title });
        if (io.tty && o.progress !== false) io.stderr('\n');
        writeFileSync(o.out, html);
        io.stdout(`wrote ${o.out} (${Math.round(html.length / 1024)} KB)\n`);
      } finally {
        await gov.close();
        await client.quit();
      }
    });
  return program;
}

interface ReportCommandOptions {
  redis: string;
  prefix: string;
  scope?: Scope;
  period: string;
  from?: number;
  to?: number;
  currency: string;
  rollups?: boolean;
  title?: string;
  progress: boolean;
  out: string;
}

async function connectIoredis(url: string): Promise<RedisClient & { quit(): Promise<unknown> }> {
  let Redis: typeof import('ioredis').Redis;
  try {
    ({ Redis } = await import('ioredis'));
  } catch {
    throw new Error('the report command needs ioredis: npm install ioredis');
  }
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return client as unknown as RedisClient & { quit(): Promise<unknown> };
}

/** Run the CLI; resolves to the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const e = error as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? 1;
    io.stderr(`agent-governor: ${e.message ?? String(error)}\n`);
    return 1;
  }
}
