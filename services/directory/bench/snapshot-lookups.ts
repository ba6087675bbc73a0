// ResolveNumber + IsOpen as routing now answers them: from the demo tenant's snapshot in memory
// (libs/directory-cache), no request. CPU per pair, and what building the model of one snapshot
// costs (once per snapshot the bucket delivers).
// `node --import tsx services/directory/bench/snapshot-lookups.ts [--pairs 200000] [--json out.json]`
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DirectoryModel, isOpen, resolveNumber } from '@switchboard/directory-cache';
import { directorySnapshotV1 } from '@switchboard/proto';
import { buildDemoTenant } from '../test/demo-tenant.js';
import { tenantSnapshot } from '../src/snapshot.js';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '200000' }, json: { type: 'string' } } });
const pairs = Number(values.pairs);

const bytes = directorySnapshotV1.TenantSnapshot.encode(tenantSnapshot(buildDemoTenant(), '1', new Date())).finish();
const builds = 200;
let started = process.cpuUsage();
let model!: DirectoryModel;
for (let index = 0; index < builds; index += 1) {
  model = new DirectoryModel(directorySnapshotV1.TenantSnapshot.decode(bytes));
}
const building = process.cpuUsage(started);
const buildMicros = (building.user + building.system) / builds;

// Extensions 101–160 through the direct-dial range, at office hours on a weekday, as bench:directory.
const at = new Date('2026-11-09T09:00:00Z');
started = process.cpuUsage();
for (let index = 0; index < pairs; index += 1) {
  const resolved = resolveNumber(model, { tenantId: 't-kropp', number: `+49462472${101 + (index % 60)}` });
  isOpen(model, { tenantId: 't-kropp', departmentId: '', siteId: resolved.siteId, at });
}
const used = process.cpuUsage(started);
const pairMicros = (used.user + used.system) / pairs;

const result = { snapshotBytes: bytes.length, buildMicros, pairs, pairMicros };
process.stdout.write(
  `decode + model of the demo snapshot (${bytes.length} bytes): ${buildMicros.toFixed(0)} µs CPU; ` +
    `ResolveNumber + IsOpen from memory: ${pairMicros.toFixed(2)} µs CPU per pair (${pairs} pairs)\n`,
);
if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
