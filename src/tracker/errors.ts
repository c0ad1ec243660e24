import { LimitExceededError, type GovernorErrorCode, type RefusalDetails } from '../core/index.js';

/**
 * Seed 000's hard limit: an operation whose estimate does not fit what is left of a
 * resource (`used + estimate > allocated`). Carries the resource, what was required,
 * what is available and the configured alternatives.
 */
export class ResourceLimitError extends LimitExceededError {
  override readonly name: string = 'ResourceLimitError';
  /** The resource that does not fit (`money`, `llmCalls`, `cpuHours`, `timeMinutes`, a user meter...). */
  readonly resource: string;
  /** Suggestions from the tracker's `alternatives` option (a cheaper model, a smaller request...). */
  readonly alternatives: readonly string[];

  constructor(code: GovernorErrorCode, d: RefusalDetails & { resource: string; alternatives: readonly string[] }) {
    super(code, d);
    this.resource = d.resource;
    this.alternatives = d.alternatives;
  }
}
