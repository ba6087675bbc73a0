import { parsePhoneNumberWithError } from 'libphonenumber-js/max';

/**
 * A tenant's fax routes as the directory has them: every number of kind `fax` enters at a
 * `fax-department`, and that department's `faxMailbox` receives its faxes — and its voicemails,
 * the directory's only mailbox of a department. Built from the directory's export document, which
 * `DirectoryCache` keeps in memory.
 */

export interface FaxRoute {
  tenantId: string;
  faxNumber: string;
  departmentId: string;
  /** The department's fax mailbox; empty when it has none (its faxes go to the fallback mailbox). */
  mailbox: string;
}

/** The parts of the directory's export document the fax service reads. */
export interface FaxDirectoryDocument {
  numbers: Array<{ number: string; kind: string; entryPoint: { kind: string; target: string } }>;
  departments: Array<{ departmentId: string; name?: string; faxMailbox?: string }>;
}

export interface DepartmentMailbox {
  departmentId: string;
  name: string;
  /** Empty when the department has none. */
  mailbox: string;
}

/** E.164 form of a number, or undefined when it is not a valid phone number. */
function toE164(number: string): string | undefined {
  try {
    const parsed = parsePhoneNumberWithError(number.trim());
    return parsed.isValid() ? parsed.number : undefined;
  } catch {
    return undefined;
  }
}

export class FaxRoutes {
  private readonly byNumber = new Map<string, FaxRoute>();
  private readonly departments = new Map<string, DepartmentMailbox>();

  constructor(tenantId: string, document: FaxDirectoryDocument) {
    for (const { departmentId, name, faxMailbox } of document.departments) {
      this.departments.set(departmentId, { departmentId, name: name || departmentId, mailbox: faxMailbox ?? '' });
    }
    for (const { number, kind, entryPoint } of document.numbers) {
      if (kind !== 'fax' || entryPoint.kind !== 'fax-department') continue;
      this.byNumber.set(number, {
        tenantId,
        faxNumber: number,
        departmentId: entryPoint.target,
        mailbox: this.departments.get(entryPoint.target)?.mailbox ?? '',
      });
    }
  }

  /** The route of a dialled number in any notation, or undefined when it is no fax number of the tenant. */
  route(dialedNumber: string): FaxRoute | undefined {
    return this.byNumber.get(toE164(dialedNumber) ?? dialedNumber.trim());
  }

  /** A department of the tenant, or undefined when the directory has none with this id. */
  department(departmentId: string): DepartmentMailbox | undefined {
    return this.departments.get(departmentId);
  }

  list(): FaxRoute[] {
    return [...this.byNumber.values()].sort((a, b) => a.faxNumber.localeCompare(b.faxNumber));
  }
}
