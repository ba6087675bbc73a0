import type { DirectoryDocument } from './model.js';

function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const value of values) (seen.has(value) ? twice : seen).add(value);
  return [...twice];
}

/**
 * What a schema cannot see: unique keys within the tenant and references between entities.
 * Problems are named by entity key, e.g. `departments[fishing].members.staffId: no staff "s-99"`.
 */
export function referenceProblems(document: DirectoryDocument): string[] {
  const problems: string[] = [];
  const siteIds = new Set(document.sites.map((site) => site.siteId));
  const departmentIds = new Set(document.departments.map((department) => department.departmentId));
  const staffIds = new Set(document.staff.map((staff) => staff.staffId));
  const extensions = new Set(document.staff.map((staff) => staff.extension));

  const unique = (collection: string, field: string, values: string[]) => {
    for (const value of duplicates(values)) problems.push(`${collection}.${field}: "${value}" is used more than once`);
  };
  unique(
    'sites',
    'siteId',
    document.sites.map((site) => site.siteId),
  );
  unique(
    'numbers',
    'number',
    document.numbers.map((number) => number.number),
  );
  unique(
    'departments',
    'departmentId',
    document.departments.map((department) => department.departmentId),
  );
  unique(
    'staff',
    'staffId',
    document.staff.map((staff) => staff.staffId),
  );
  unique(
    'staff',
    'extension',
    document.staff.map((staff) => staff.extension),
  );
  // A device is one PJSIP endpoint with one credential, so it belongs to one staff member.
  unique(
    'staff',
    'devices',
    document.staff.flatMap((staff) => staff.devices),
  );

  const site = (path: string, siteId: string) => {
    if (siteId && !siteIds.has(siteId)) problems.push(`${path}.siteId: no site "${siteId}"`);
  };
  for (const number of document.numbers) {
    const path = `numbers[${number.number}]`;
    site(path, number.siteId);
    const { kind, target } = number.entryPoint;
    if ((kind === 'department' || kind === 'fax-department') && !departmentIds.has(target)) {
      problems.push(`${path}.entryPoint.target: no department "${target}"`);
    }
    if (kind === 'extension' && !extensions.has(target)) {
      problems.push(`${path}.entryPoint.target: no staff with extension "${target}"`);
    }
  }
  for (const department of document.departments) {
    const path = `departments[${department.departmentId}]`;
    site(path, department.siteId);
    for (const member of department.members) {
      if (!staffIds.has(member.staffId)) problems.push(`${path}.members.staffId: no staff "${member.staffId}"`);
    }
    for (const staffId of duplicates(department.members.map((member) => member.staffId))) {
      problems.push(`${path}.members.staffId: "${staffId}" is a member more than once`);
    }
    const { kind, target } = department.overflow;
    if (kind === 'department' && (target === department.departmentId || !departmentIds.has(target))) {
      problems.push(`${path}.overflow.target: no other department "${target}"`);
    }
  }
  for (const staff of document.staff) site(`staff[${staff.staffId}]`, staff.siteId);
  return problems;
}
