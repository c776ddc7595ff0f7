/** The messages between the page (main.ts) and the training worker (worker.ts). */

export type CellKind = 'tanh' | 'irnn' | 'gru' | 'lstm';

export const cellLabels: Readonly<Record<CellKind, string>> = {
  tanh: 'tanh RNN',
  irnn: 'IRNN (ReLU, identity init)',
  gru: 'GRU',
  lstm: 'LSTM',
};

/** Page → worker. */
export type ToWorker =
  | { readonly type: 'start'; readonly cell: CellKind; readonly length: number }
  | { readonly type: 'stop' };

/** Worker → page. */
export type FromWorker =
  | {
      readonly type: 'started';
      readonly cell: CellKind;
      readonly length: number;
      readonly hidden: number;
      readonly batch: number;
      readonly lr: number;
      readonly baseline: number;
    }
  /** The losses of the steps since the last progress message, the last one being `step`. */
  | { readonly type: 'progress'; readonly step: number; readonly losses: readonly number[]; readonly msPerStep: number }
  /** ‖∂E_T/∂h_t‖ for t = 0 … T−1, measured after `step` updates. */
  | { readonly type: 'flow'; readonly step: number; readonly norms: readonly number[]; readonly summary: string }
  | { readonly type: 'done'; readonly step: number; readonly reason: string }
  | { readonly type: 'error'; readonly message: string };

/** What the threads check's worker (threads-worker.ts) reports to its page (threads.ts). */
export type ThreadsReport =
  | {
      readonly type: 'threads';
      readonly ok: true;
      readonly isolated: boolean;
      readonly poolThreads: number;
      readonly planThreads: number;
      readonly kernels: 'wasm' | 'js';
      readonly identical: boolean;
      readonly msPlain: number;
      readonly msThreaded: number;
    }
  | { readonly type: 'threads'; readonly ok: false; readonly error: string };
