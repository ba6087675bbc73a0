import { ivrServiceV1 } from '@switchboard/proto';
import { isValidPhoneNumber } from 'libphonenumber-js';

const { TargetKind } = ivrServiceV1;
type Menu = ivrServiceV1.Menu;
type Target = ivrServiceV1.Target;

/** A menu set that may not be saved; `problems` lists every reason, one sentence each. */
export class MenuValidationError extends Error {
  override readonly name = 'MenuValidationError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

const MENU_ID = /^[A-Za-z0-9_-]{1,64}$/;
// Directory ids are checked for shape only: the directory is another service.
const DIRECTORY_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const EXTENSION = /^\d{2,8}$/;
const OPTION_DIGITS = /^[0-9*#]{1,4}$/;
// ARI media URIs (sound:, recording:, tone:, digits:, number:, characters:).
const MEDIA_URI = /^(sound|recording|tone|digits|number|characters):\S+$/;
const MAX_RETRIES = 9;
const MIN_TIMEOUT_MS = 1_000;
const MAX_TIMEOUT_MS = 60_000;

function describeTarget(target: Target): string {
  return `${ivrServiceV1.targetKindToJSON(target.kind).replace('TARGET_KIND_', '').toLowerCase()} "${target.ref}"`;
}

function checkTarget(where: string, target: Target | undefined, allowRepeat: boolean, problems: string[]): void {
  if (!target || target.kind === TargetKind.TARGET_KIND_UNSPECIFIED) {
    problems.push(`${where}: a target kind is required`);
    return;
  }
  const { kind, ref } = target;
  switch (kind) {
    case TargetKind.TARGET_KIND_DEPARTMENT:
    case TargetKind.TARGET_KIND_VOICEMAIL:
      if (!DIRECTORY_ID.test(ref)) problems.push(`${where}: ${describeTarget(target)} is not a valid directory id`);
      return;
    case TargetKind.TARGET_KIND_SUBMENU:
      if (!MENU_ID.test(ref)) problems.push(`${where}: ${describeTarget(target)} is not a valid menu id`);
      return;
    case TargetKind.TARGET_KIND_EXTENSION:
      if (!EXTENSION.test(ref)) problems.push(`${where}: extension "${ref}" must be 2 to 8 digits`);
      return;
    case TargetKind.TARGET_KIND_EXTERNAL:
      if (!ref.startsWith('+') || !isValidPhoneNumber(ref))
        problems.push(`${where}: external number "${ref}" is not a valid E.164 number`);
      return;
    case TargetKind.TARGET_KIND_REPEAT:
      if (!allowRepeat) problems.push(`${where}: repeat is only allowed for options`);
      else if (ref !== '') problems.push(`${where}: repeat takes no ref`);
      return;
    default:
      problems.push(`${where}: unknown target kind ${String(kind)}`);
  }
}

function checkPrompts(where: string, prompts: readonly string[], required: boolean, problems: string[]): void {
  if (required && prompts.length === 0) problems.push(`${where}: at least one prompt is required`);
  for (const prompt of prompts) {
    if (!MEDIA_URI.test(prompt))
      problems.push(`${where}: "${prompt}" is not a media URI like sound:switchboard/main-menu`);
  }
}

/** Field checks of one menu on its own. */
export function menuProblems(menu: Menu): string[] {
  const problems: string[] = [];
  const at = `menu "${menu.menuId}"`;
  if (!MENU_ID.test(menu.menuId)) problems.push(`${at}: menu_id must be 1 to 64 letters, digits, "-" or "_"`);
  if (menu.name.trim() === '') problems.push(`${at}: name is required`);
  try {
    if (menu.language === '' || Intl.getCanonicalLocales(menu.language).length !== 1) throw new RangeError();
  } catch {
    problems.push(`${at}: language "${menu.language}" is not a BCP 47 tag like de-DE`);
  }
  checkPrompts(`${at} prompts`, menu.prompts, true, problems);
  checkPrompts(`${at} invalid_prompts`, menu.invalidPrompts, false, problems);
  checkPrompts(`${at} no_input_prompts`, menu.noInputPrompts, false, problems);
  for (const [field, value] of [
    ['timeout_ms', menu.timeoutMs],
    ['inter_digit_timeout_ms', menu.interDigitTimeoutMs],
  ] as const) {
    if (value < MIN_TIMEOUT_MS || value > MAX_TIMEOUT_MS)
      problems.push(`${at}: ${field} must be between ${MIN_TIMEOUT_MS} and ${MAX_TIMEOUT_MS}`);
  }
  if (menu.maxRetries < 0 || menu.maxRetries > MAX_RETRIES)
    problems.push(`${at}: max_retries must be between 0 and ${MAX_RETRIES}`);

  const seen = new Set<string>();
  for (const option of menu.options) {
    const where = `${at} option "${option.digits}"`;
    if (!OPTION_DIGITS.test(option.digits)) problems.push(`${where}: digits must be 1 to 4 of 0-9, * and #`);
    else if (seen.has(option.digits)) problems.push(`${where}: defined twice`);
    seen.add(option.digits);
    checkTarget(where, option.target, true, problems);
  }
  // With "1" and "12" both defined, a caller who pressed 1 could still mean 12.
  for (const digits of seen) {
    for (const other of seen) {
      if (other !== digits && other.startsWith(digits))
        problems.push(`${at}: option "${digits}" is a prefix of option "${other}"`);
    }
  }
  checkTarget(`${at} fallback`, menu.fallback, false, problems);
  if (menu.hours?.closed) checkTarget(`${at} hours.closed`, menu.hours.closed, false, problems);
  if (menu.hours?.holiday) checkTarget(`${at} hours.holiday`, menu.hours.holiday, false, problems);
  return problems;
}

interface Edge {
  from: string;
  to: string;
  via: string;
}

/** Where a menu can send a caller: submenus (edges) and whether it has a target that leaves the IVR. */
function outgoing(menu: Menu): { submenus: Edge[]; hoursEdges: Edge[]; leaves: boolean } {
  const submenus: Edge[] = [];
  const hoursEdges: Edge[] = [];
  let leaves = false;
  const visit = (target: Target | undefined, via: string, hours: boolean) => {
    if (!target) return;
    if (target.kind === TargetKind.TARGET_KIND_SUBMENU) {
      const edge = { from: menu.menuId, to: target.ref, via };
      submenus.push(edge);
      if (hours) hoursEdges.push(edge);
    } else if (target.kind !== TargetKind.TARGET_KIND_REPEAT) {
      leaves = true;
    }
  };
  for (const option of menu.options) visit(option.target, `option "${option.digits}"`, false);
  visit(menu.fallback, 'fallback', false);
  visit(menu.hours?.closed, 'hours.closed', true);
  visit(menu.hours?.holiday, 'hours.holiday', true);
  return { submenus, hoursEdges, leaves };
}

/** Tarjan's strongly connected components of the submenu graph. */
function components(ids: readonly string[], next: (id: string) => readonly string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const result: string[][] = [];
  let counter = 0;
  const connect = (id: string) => {
    index.set(id, counter);
    low.set(id, counter);
    counter += 1;
    stack.push(id);
    onStack.add(id);
    for (const to of next(id)) {
      if (!index.has(to)) {
        connect(to);
        low.set(id, Math.min(low.get(id)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(id, Math.min(low.get(id)!, index.get(to)!));
      }
    }
    if (low.get(id) === index.get(id)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== id);
      result.push(component.reverse());
    }
  };
  for (const id of ids) if (!index.has(id)) connect(id);
  return result;
}

/**
 * Checks a tenant's whole menu set: each menu's fields, no submenu target that does not exist,
 * every menu reachable from an entry menu, no loop of submenus a caller cannot leave, and no
 * loop of opening-hours branches (closed → b, b closed → a would never play anything).
 */
export function validateMenuSet(menus: readonly Menu[]): void {
  const problems = menus.flatMap(menuProblems);
  const byId = new Map<string, Menu>();
  for (const menu of menus) {
    if (byId.has(menu.menuId)) problems.push(`menu "${menu.menuId}" is defined twice`);
    byId.set(menu.menuId, menu);
  }
  const graph = new Map([...byId].map(([id, menu]) => [id, outgoing(menu)]));
  for (const { submenus } of graph.values()) {
    for (const edge of submenus) {
      if (!byId.has(edge.to)) problems.push(`menu "${edge.from}" ${edge.via}: submenu "${edge.to}" does not exist`);
    }
  }
  const existing = (edges: readonly Edge[]) => edges.map((edge) => edge.to).filter((to) => byId.has(to));

  if (menus.length > 0) {
    const entries = menus.filter((menu) => menu.entry).map((menu) => menu.menuId);
    if (entries.length === 0) problems.push('no entry menu: mark at least one menu as entry');
    const reached = new Set(entries);
    const queue = [...entries];
    while (queue.length > 0) {
      for (const to of existing(graph.get(queue.shift()!)!.submenus)) {
        if (!reached.has(to)) {
          reached.add(to);
          queue.push(to);
        }
      }
    }
    if (entries.length > 0) {
      for (const id of byId.keys()) {
        if (!reached.has(id)) problems.push(`menu "${id}" is unreachable from the entry menus (${entries.join(', ')})`);
      }
    }
  }

  const ids = [...byId.keys()];
  for (const component of components(ids, (id) => existing(graph.get(id)!.submenus))) {
    const members = new Set(component);
    const cyclic = component.length > 1 || existing(graph.get(component[0]!)!.submenus).includes(component[0]!);
    if (!cyclic) continue;
    const exits = component.some((id) => {
      const { leaves, submenus } = graph.get(id)!;
      return leaves || existing(submenus).some((to) => !members.has(to));
    });
    if (!exits)
      problems.push(
        `menus ${[...component, component[0]].map((id) => `"${id}"`).join(' → ')} form a loop without exit`,
      );
  }
  for (const component of components(ids, (id) => existing(graph.get(id)!.hoursEdges))) {
    const cyclic = component.length > 1 || existing(graph.get(component[0]!)!.hoursEdges).includes(component[0]!);
    if (cyclic)
      problems.push(
        `opening-hours branches of menus ${[...component, component[0]].map((id) => `"${id}"`).join(' → ')} form a loop`,
      );
  }
  if (problems.length > 0) throw new MenuValidationError(problems);
}
