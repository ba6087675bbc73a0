import { readFile } from 'node:fs/promises';
import { ivrServiceV1 } from '@switchboard/proto';
import { parse } from 'yaml';

const { TargetKind } = ivrServiceV1;

/** A reason to call: the keys a citizen presses from the entry menu to reach a department. */
export interface Topic {
  department: string;
  digits: string[];
}

/**
 * Every way from the entry menu to a department, following submenus (each menu once per path),
 * read from the same menu file the stack saves — so the simulated callers press what the IVR offers.
 */
export async function topicsFromMenus(file: string, entryMenuId: string): Promise<Topic[]> {
  const document = parse(await readFile(file, 'utf8')) as { menus: unknown[] };
  const menus = new Map(
    document.menus.map((raw) => {
      const menu = ivrServiceV1.Menu.fromJSON(raw);
      return [menu.menuId, menu] as const;
    }),
  );
  const topics: Topic[] = [];
  const walk = (menuId: string, digits: string[], seen: Set<string>) => {
    const menu = menus.get(menuId);
    if (!menu || seen.has(menuId)) return;
    for (const option of menu.options) {
      const target = option.target;
      if (target?.kind === TargetKind.TARGET_KIND_DEPARTMENT) {
        topics.push({ department: target.ref, digits: [...digits, option.digits] });
      } else if (target?.kind === TargetKind.TARGET_KIND_SUBMENU) {
        walk(target.ref, [...digits, option.digits], new Set([...seen, menuId]));
      }
    }
  };
  walk(entryMenuId, [], new Set());
  if (topics.length === 0) throw new Error(`menu ${entryMenuId} in ${file} leads to no department`);
  return topics;
}
