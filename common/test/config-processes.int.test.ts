import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnService } from '../../test/support/processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A setting only the workers and the backup process read, set to a value they refuse. */
const BAD_CRON = { BACKUP_UPLOAD_CRON: 'every midnight' };

/** Runs `script` to its exit (it is expected to refuse to start). */
function refused(script: string, env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
}

describe('settings per process', () => {
  it('a bad workers-only setting does not stop the gateway or a subgraph: each checks only its own settings', async () => {
    const prefix = `jt-settings-${randomBytes(4).toString('hex')}`;
    const gateway = await spawnService('gateway', 'gateway/index.ts', 'GATEWAY_PORT', { ...BAD_CRON, QUEUE_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '0' });
    await gateway.stop();
    const inventory = await spawnService('subgraph inventory', 'subgraphs/inventory/index.ts', 'INVENTORY_PORT', { ...BAD_CRON, QUEUE_PREFIX: prefix });
    await inventory.stop();
  });

  it.each(['workers/index.ts', 'workers/backup/main.ts'])('the same setting still stops %s at start with one line naming it', (script) => {
    const run = refused(script, BAD_CRON);
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^invalid configuration: BACKUP_UPLOAD_CRON="every midnight": expected a cron pattern/);
  });
});
