/** Whether the WebGPU tests can run here (lavapipe installed), and why not when they cannot. */
import { lavapipeConfigured, LOCAL_LAVAPIPE_ICD, useLocalLavapipe } from '../../src/proxy/webgpu.ts';

function skipReason(): string | undefined {
  if (lavapipeConfigured()) return undefined;
  const env = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  const where = env ? `the Vulkan driver list ${env} has no lavapipe ICD` : `no ${LOCAL_LAVAPIPE_ICD}`;
  return `no lavapipe configured (${where}); run scripts/setup-lavapipe.sh`;
}

export const lavapipeSkipReason = skipReason();
// Test files run in their own processes (vitest pool 'forks'), so this only affects the file's own process.
if (lavapipeSkipReason === undefined) useLocalLavapipe();
