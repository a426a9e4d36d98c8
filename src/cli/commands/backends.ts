import type { Command } from 'commander';
import { SIMD_KINDS } from '../../engine/index.ts';
import { listBackends } from '../../proxy/backend.ts';
import { styleFor, table } from '../format.ts';

export function register(program: Command): void {
  program
    .command('backends')
    .description('list the training backends available on this machine: the WebAssembly engine, the TensorFlow.js ones (with the GPU adapter, if any) and the reference interpreter')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ optsearch backends\n')
    .action(async (opts: { json?: boolean }) => {
      const { backends, auto } = await listBackends();
      if (opts.json) {
        // auto: the simd engine for the kinds it trains, else the first tfjs backend that works
        console.log(JSON.stringify({ auto: auto ?? null, autoSimdKinds: SIMD_KINDS, backends }, null, 2));
        return;
      }
      const st = styleFor();
      console.log(
        table(
          ['backend', 'available', 'details'],
          backends.map((b) => [b.name + (b.name === auto ? ' (auto for other kinds)' : b.name === 'simd' ? ` (auto for ${SIMD_KINDS.join(', ')})` : ''), b.available ? st.green('yes') : st.dim('no'), (b.available ? b.description : b.reason) ?? '']),
        ),
      );
    });
}
