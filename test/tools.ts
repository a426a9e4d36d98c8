/**
 * Tests that need software outside Node (Chromium, a python3 with torch or numpy, the lavapipe
 * Vulkan driver). With CI=true a missing tool is a failure that says what is missing (.ci/run
 * installs every one of them); elsewhere the tests that need it are skipped and the reason printed.
 */
import { it } from 'vitest';

/** CI=true (or 1): every tool the suite uses must be there. */
export const REQUIRE_TOOLS = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Whether to skip the tests that need `tool`: false when it is available (`missing` undefined).
 * When it is missing under CI=true, adds a test that fails with the reason and skips the rest.
 */
export function skipWithout(tool: string, missing: string | undefined): boolean {
  if (missing === undefined) return false;
  if (REQUIRE_TOOLS) {
    it(`${tool} is installed (CI=true runs every test)`, () => {
      throw new Error(`${tool} is missing: ${missing} (.ci/run installs it)`);
    });
  } else {
    console.warn(`skipping the tests that need ${tool}: ${missing}`);
  }
  return true;
}
