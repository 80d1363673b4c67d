/** Progress and retry events, for metrics and progress bars. Byte counts are cumulative per NAR. */
export type ClientEvent =
  | { type: 'progress'; storePath: string; bytesIn: number; bytesOut: number; fileSize: number | undefined; narSize: number; done: boolean }
  | { type: 'retry'; url: string; attempt: number; delayMs: number; reason: string };
