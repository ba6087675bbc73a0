import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DECLARED, README, withTable } from '../../../scripts/policy-table.js';

// The "who may call what" table in services/README.md is generated from the services' policies;
// these checks keep it current and hold the rules every declaration must follow.

const SERVICES = fileURLToPath(new URL('../../../services/', import.meta.url));

describe('who may call what', () => {
  it('is in services/README.md as the declarations say (else run pnpm policy:table)', async () => {
    const current = readFileSync(README, 'utf8');
    expect(await withTable(current)).toBe(current);
  });

  it('covers every service that declares a policy', () => {
    const withPolicy = readdirSync(SERVICES).filter((folder) => existsSync(`${SERVICES}${folder}/src/policy.ts`));
    expect(DECLARED.map((entry) => entry.folder).sort()).toEqual(withPolicy.sort());
  });

  it('gives finance and agents no change through an admin API, and agents only themselves', () => {
    const violations: string[] = [];
    for (const { folder, policy } of DECLARED) {
      for (const [method, entry] of Object.entries(policy)) {
        if (entry.audit && entry.allow.finance) violations.push(`${folder}.${method}: finance may change it`);
        if (entry.audit && entry.allow.agent) violations.push(`${folder}.${method}: an agent may change it`);
        const agent = entry.allow.agent;
        if (agent && (typeof agent !== 'object' || !('self' in agent)))
          violations.push(`${folder}.${method}: an agent may call it beyond themself`);
      }
    }
    expect(violations).toEqual([]);
  });
});
