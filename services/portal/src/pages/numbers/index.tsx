import { directoryV1 } from '@switchboard/proto';
import type { PortalContext } from '../../context.js';
import { PortalError } from '../../errors.js';
import { defineMessages, translator } from '../../i18n.js';
import { render } from '../../render.js';
import { api, type PortalPage } from '../../routes.js';

const messages = defineMessages({
  de: {
    label: 'Rufnummern',
    title: 'Rufnummern',
    caption: '{count} Rufnummern und Rufnummernblöcke',
    number: 'Rufnummer',
    kind: 'Art',
    site: 'Standort',
    leadsTo: 'Führt zu',
    'kind.main': 'Hauptnummer',
    'kind.range': 'Durchwahlblock',
    'kind.fax': 'Fax',
    'kind.other': 'Sonstige',
    rangeDigits: '{number} + {digits} Ziffern',
    'target.menu': 'Sprachmenü „{name}“',
    'target.department': 'Abteilung {name}',
    'target.extension': 'Durchwahl {extension} ({name})',
    'target.extensionUnknown': 'Durchwahl {extension}',
    'target.fax': 'Faxeingang der Abteilung {name}',
    'target.none': 'nicht zugeordnet',
    rangeNote: 'Bei Durchwahlblöcken: wohin Anrufe auf nicht vergebene Durchwahlen gehen.',
    none: 'Dieser Mandant hat noch keine Rufnummern.',
  },
  en: {
    label: 'Numbers',
    title: 'Numbers',
    caption: '{count} numbers and number ranges',
    number: 'Number',
    kind: 'Kind',
    site: 'Site',
    leadsTo: 'Leads to',
    'kind.main': 'Main number',
    'kind.range': 'Direct-dial range',
    'kind.fax': 'Fax',
    'kind.other': 'Other',
    rangeDigits: '{number} + {digits} digits',
    'target.menu': 'Voice menu "{name}"',
    'target.department': 'Department {name}',
    'target.extension': 'Extension {extension} ({name})',
    'target.extensionUnknown': 'Extension {extension}',
    'target.fax': 'Fax inbox of department {name}',
    'target.none': 'not assigned',
    rangeNote: 'For direct-dial ranges: where calls to extensions nobody has go.',
    none: 'This tenant has no numbers yet.',
  },
});

const ROLES = ['admin', 'operator'] as const;

export interface NumberView {
  number: string;
  kind: 'main' | 'range' | 'fax' | 'other';
  rangeDigits: number;
  site: { siteId: string; name: string } | null;
  leadsTo: { kind: 'menu' | 'department' | 'extension' | 'fax' | 'none'; target: string; name: string };
}

const KINDS: Record<number, NumberView['kind']> = {
  [directoryV1.NumberKind.NUMBER_KIND_MAIN]: 'main',
  [directoryV1.NumberKind.NUMBER_KIND_DIRECT_DIAL_RANGE]: 'range',
  [directoryV1.NumberKind.NUMBER_KIND_FAX]: 'fax',
};

/** The menus' names from the ivr service; without it (down or not configured) the ids stand in. */
async function menuNames(c: PortalContext): Promise<Map<string, string>> {
  try {
    const { menus } = await api(c).ivr.listMenus({ tenantId: c.var.tenantId });
    return new Map(menus.map((menu) => [menu.menuId, menu.name]));
  } catch (error) {
    if (error instanceof PortalError && error.status === 503) return new Map();
    throw error;
  }
}

/** The tenant's numbers and ranges with what each leads to, named (menus, departments, staff). */
export async function listNumbers(c: PortalContext): Promise<NumberView[]> {
  const tenantId = c.var.tenantId;
  const directory = api(c).directory;
  const [{ numbers }, { sites }, { departments }, { staff }, menus] = await Promise.all([
    directory.listNumbers({ tenantId }),
    directory.listSites({ tenantId }),
    directory.listDepartments({ tenantId }),
    directory.listStaff({ tenantId }),
    menuNames(c),
  ]);
  const siteNames = new Map(sites.map((site) => [site.siteId, site.name]));
  const departmentNames = new Map(departments.map((department) => [department.departmentId, department.name]));
  const byExtension = new Map(staff.map((person) => [person.extension, person.displayName]));
  const leadsTo = (entry: directoryV1.EntryPoint | undefined): NumberView['leadsTo'] => {
    const target = entry?.target ?? '';
    switch (entry?.kind) {
      case directoryV1.EntryPointKind.ENTRY_POINT_KIND_IVR_MENU:
        return { kind: 'menu', target, name: menus.get(target) ?? target };
      case directoryV1.EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT:
        return { kind: 'department', target, name: departmentNames.get(target) ?? target };
      case directoryV1.EntryPointKind.ENTRY_POINT_KIND_EXTENSION:
        return { kind: 'extension', target, name: byExtension.get(target) ?? '' };
      case directoryV1.EntryPointKind.ENTRY_POINT_KIND_FAX_DEPARTMENT:
        return { kind: 'fax', target, name: departmentNames.get(target) ?? target };
      default:
        return { kind: 'none', target: '', name: '' };
    }
  };
  return numbers
    .map((number): NumberView => ({
      number: number.number,
      kind: KINDS[number.kind] ?? 'other',
      rangeDigits: number.rangeDigits,
      site: number.siteId ? { siteId: number.siteId, name: siteNames.get(number.siteId) ?? number.siteId } : null,
      leadsTo: leadsTo(number.entryPoint),
    }))
    .sort((a, b) => a.number.localeCompare(b.number));
}

function leadsToText(t: ReturnType<typeof translator<keyof (typeof messages)['de']>>, number: NumberView): string {
  const { kind, target, name } = number.leadsTo;
  switch (kind) {
    case 'menu':
      return t('target.menu', { name });
    case 'department':
      return t('target.department', { name });
    case 'extension':
      return name
        ? t('target.extension', { extension: target, name })
        : t('target.extensionUnknown', { extension: target });
    case 'fax':
      return t('target.fax', { name });
    case 'none':
      return t('target.none');
  }
}

/**
 * The tenant's numbers (read-only here: a number's target changes with its menu or department).
 * Requesting numbers from the tenant's pool and releasing them belong on this page too: their
 * routes go into `routes` and their section after the table.
 */
export const numbersPage: PortalPage = {
  name: 'numbers',
  nav: { path: '/rufnummern', label: { de: messages.de.label, en: messages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/rufnummern',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const numbers = await listNumbers(c);
        return render(c, {
          title: t('title'),
          body: numbers.length ? (
            <>
              <table>
                <caption>{t('caption', { count: numbers.length })}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('number')}</th>
                    <th scope="col">{t('kind')}</th>
                    <th scope="col">{t('site')}</th>
                    <th scope="col">{t('leadsTo')}</th>
                  </tr>
                </thead>
                <tbody>
                  {numbers.map((number) => (
                    <tr>
                      <th scope="row">
                        {number.kind === 'range'
                          ? t('rangeDigits', { number: number.number, digits: number.rangeDigits })
                          : number.number}
                      </th>
                      <td>{t(`kind.${number.kind}`)}</td>
                      <td>{number.site?.name ?? '–'}</td>
                      <td>{leadsToText(t, number)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p class="hint">{t('rangeNote')}</p>
            </>
          ) : (
            <p>{t('none')}</p>
          ),
        });
      },
    },
    {
      method: 'GET',
      path: '/api/numbers',
      allow: ROLES,
      handler: async (c) => c.json({ numbers: await listNumbers(c) }),
    },
  ],
};
