import type { GcPassReport, NodeStatus } from '@flox-k8s/agent-protocol';

/** The GC passes since the agent started, as GET /status reports them: how many, the last, the last that collected. */
export class GcHistory {
  #passes = 0;
  #last: GcPassReport | undefined;
  #lastCollection: GcPassReport | undefined;

  record(pass: GcPassReport): void {
    this.#passes += 1;
    this.#last = pass;
    if (pass.outcome === 'collected') this.#lastCollection = pass;
  }

  snapshot(): Pick<NodeStatus['gc'], 'passes' | 'last' | 'lastCollection'> {
    return {
      passes: this.#passes,
      ...(this.#last === undefined ? {} : { last: this.#last }),
      ...(this.#lastCollection === undefined ? {} : { lastCollection: this.#lastCollection }),
    };
  }
}
