/** The tfjs module's type, for code that is handed a loaded tfjs (src/proxy/backend.ts loads it). */
export type Tf = typeof import('@tensorflow/tfjs');
