/**
 * The thin layer between {@link RedisStore} and a Redis client: one `send` for ioredis
 * (`call`) and node-redis v4+ (`sendCommand`); scripts run as Redis Functions (`FCALL`,
 * loaded with `FUNCTION LOAD` when the server says it does not have them), or, where the
 * server has no Functions (Redis < 7) or may not load them (ACL), by `EVALSHA` with a fallback
 * to `EVAL` on `NOSCRIPT`; and a timeout on every command driven by one shared, `unref`'d
 * timer rather than a timer per command.
 */
import { createHash } from 'node:crypto';
import { systemClock } from '../core/index.js';
import { SCRIPTS, functionLibrary, type ScriptName } from './scripts.js';

/** An ioredis client or cluster (v5 or v6): anything with `call(command, ...args)`. */
export interface IORedisLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  /** ioredis `Cluster`: its nodes (the function library is loaded on every master). */
  nodes?(role?: 'master'): { call(command: string, ...args: string[]): Promise<unknown> }[];
}

/** A node-redis (v4+) client: anything with `sendCommand(args)`. */
export interface NodeRedisLike {
  sendCommand(args: string[]): Promise<unknown>;
}

/** The Redis clients a {@link RedisStore} accepts. */
export type RedisClient = IORedisLike | NodeRedisLike;

/** Thrown when Redis does not answer a command within `commandTimeoutMs`. */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`Redis did not answer ${command} within ${timeoutMs} ms`);
  }
}

interface Pending {
  readonly deadline: number;
  readonly command: string;
  readonly reject: (e: unknown) => void;
  done: boolean;
}

const SHAS = Object.fromEntries(Object.entries(SCRIPTS).map(([k, src]) => [k, createHash('sha1').update(src).digest('hex')])) as Record<
  ScriptName,
  string
>;

const LIBRARY = functionLibrary(createHash('sha1').update(Object.values(SHAS).join(',')).digest('hex'));

function message(e: unknown): string {
  return e instanceof Error ? e.message : '';
}

/** Sends commands and scripts, each bounded by a timeout. */
export class Connection {
  private readonly send: (args: string[]) => Promise<unknown>;
  private readonly pending: Pending[] = [];
  private head = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Whether to run scripts as Functions: until the server shows it cannot. */
  private functions = true;
  private loading: Promise<boolean> | undefined;
  private readonly loadOn: () => Promise<unknown>;

  constructor(
    client: RedisClient,
    private readonly timeoutMs: number,
  ) {
    const load = ['FUNCTION', 'LOAD', 'REPLACE', LIBRARY.code];
    this.loadOn = () => this.command(load);
    if (typeof (client as IORedisLike).call === 'function') {
      const c = client as IORedisLike;
      this.send = (args) => c.call(args[0] as string, ...args.slice(1));
      if (typeof c.nodes === 'function') {
        const nodes = c.nodes.bind(c);
        this.loadOn = () => Promise.all(nodes('master').map((n) => n.call('FUNCTION', ...load.slice(1))));
      }
    } else if (typeof (client as NodeRedisLike).sendCommand === 'function') {
      const c = client as NodeRedisLike;
      this.send = (args) => c.sendCommand(args);
    } else {
      throw new TypeError('must be an ioredis client (with call) or a node-redis v4+ client (with sendCommand)');
    }
  }

  /** Run a script by name; `key` is the routing key (any key of the prefix's slot). */
  async script(name: ScriptName, key: string, args: string[]): Promise<unknown> {
    if (this.functions) {
      const call = ['FCALL', LIBRARY.functions[name], '1', key, ...args];
      try {
        return await this.command(call);
      } catch (e) {
        const m = message(e);
        if (/unknown command|^NOPERM/i.test(m)) this.functions = false;
        else if (!m.includes('Function not found')) throw e;
        else if (await this.loadLibrary()) {
          try {
            return await this.command(call);
          } catch (e2) {
            if (!message(e2).includes('Function not found')) throw e2;
          }
        }
      }
    }
    return this.evalsha(name, key, args);
  }

  /** Load the function library (once for concurrent callers); false when the server will not. */
  private loadLibrary(): Promise<boolean> {
    this.loading ??= this.loadOn().then(
      () => true,
      (e: unknown) => {
        // A server that refuses the library (no Functions, an ACL) gets EVALSHA from now on;
        // a timeout or a lost connection says nothing about that, so the next call tries again.
        if (!(e instanceof RedisTimeoutError) && /^(ERR|NOPERM)/.test(message(e))) this.functions = false;
        return false;
      },
    );
    const p = this.loading;
    void p.then(() => {
      if (this.loading === p) this.loading = undefined;
    });
    return p;
  }

  private async evalsha(name: ScriptName, key: string, args: string[]): Promise<unknown> {
    const sha = SHAS[name];
    try {
      return await this.command(['EVALSHA', sha, '1', key, ...args]);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return this.command(['EVAL', SCRIPTS[name], '1', key, ...args]);
    }
  }

  /** Send one command, rejecting with {@link RedisTimeoutError} after the timeout. */
  command(args: string[]): Promise<unknown> {
    const p = this.send(args);
    if (this.timeoutMs <= 0) return p;
    return new Promise((resolve, reject) => {
      const op: Pending = { deadline: systemClock.monotonic() + this.timeoutMs, command: args[0] as string, reject, done: false };
      this.pending.push(op);
      this.timer ??= this.startTimer();
      p.then(
        (v) => {
          op.done = true;
          resolve(v);
        },
        (e: unknown) => {
          op.done = true;
          reject(e);
        },
      );
    });
  }

  /** Stop the timer; commands still waiting are left to the client. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  // Every command has the same timeout, so deadlines come in order: the queue's head is the next due.
  private startTimer(): ReturnType<typeof setInterval> {
    const t = setInterval(() => this.expire(), Math.max(5, Math.floor(this.timeoutMs / 4)));
    t.unref();
    return t;
  }

  private expire(): void {
    const now = systemClock.monotonic();
    const q = this.pending;
    while (this.head < q.length) {
      const op = q[this.head] as Pending;
      if (!op.done) {
        if (op.deadline > now) break;
        op.done = true;
        op.reject(new RedisTimeoutError(op.command, this.timeoutMs));
      }
      this.head++;
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
      this.close();
    } else if (this.head > 1024) {
      q.splice(0, this.head);
      this.head = 0;
    }
  }
}
