// Size of a tenant's snapshot (the value in the directory-snapshots bucket), against NATS's
// default max_payload of 1 MiB: the demo tenant, and the demo's 47 sites with many more staff.
// `node --import tsx services/directory/bench/snapshot-size.ts [--staff 2000] [--json out.json]`
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { directorySnapshotV1 } from '@switchboard/proto';
import { buildDemoTenant } from '../test/demo-tenant.js';
import type { DirectoryDocument } from '../src/model.js';
import { tenantSnapshot } from '../src/snapshot.js';

const { values } = parseArgs({ options: { staff: { type: 'string', default: '2000' }, json: { type: 'string' } } });
const staffCount = Number(values.staff);
const MAX_PAYLOAD = 1024 * 1024;

/** The demo tenant grown to `count` staff: each with two devices, a few skills and a home-office number, spread over the sites and departments. */
function grown(count: number): DirectoryDocument {
  const demo = buildDemoTenant();
  const staff = Array.from({ length: count }, (_, index) => {
    const model = demo.staff[index % demo.staff.length]!;
    const extension = String(10_000 + index);
    return {
      ...model,
      staffId: `s-${extension}`,
      displayName: `${model.displayName} ${index}`,
      extension,
      devices: [`kropp-${extension}`, `kropp-${extension}-mobile`],
      siteId: demo.sites[index % demo.sites.length]!.siteId,
      homeOffice: index % 5 === 0,
      homeOfficeNumber: index % 5 === 0 ? `+4915112${String(index).padStart(6, '0')}` : '',
    };
  });
  const departments = demo.departments.map((department, position) => ({
    ...department,
    members: staff
      .filter((_, index) => index % demo.departments.length === position)
      .map((member, index) => ({ staffId: member.staffId, priority: index % 3 })),
  }));
  return { ...demo, staff, departments };
}

const measure = (name: string, document: DirectoryDocument) => {
  const bytes = directorySnapshotV1.TenantSnapshot.encode(tenantSnapshot(document, '1', new Date())).finish();
  return {
    tenant: name,
    sites: document.sites.length,
    staff: document.staff.length,
    departments: document.departments.length,
    numbers: document.numbers.length,
    bytes: bytes.length,
    gzipBytes: gzipSync(bytes).length,
    shareOfMaxPayload: Number((bytes.length / MAX_PAYLOAD).toFixed(3)),
  };
};

const results = [
  measure('demo (t-kropp)', buildDemoTenant()),
  measure(`demo grown to ${staffCount} staff`, grown(staffCount)),
];
for (const result of results) {
  process.stdout.write(
    `${result.tenant}: ${result.sites} sites, ${result.staff} staff, ${result.departments} departments, ` +
      `${result.numbers} numbers -> ${result.bytes} bytes (gzip ${result.gzipBytes}), ` +
      `${(result.shareOfMaxPayload * 100).toFixed(1)} % of max_payload\n`,
  );
}
if (values.json) await writeFile(values.json, `${JSON.stringify({ maxPayload: MAX_PAYLOAD, results }, null, 2)}\n`);
