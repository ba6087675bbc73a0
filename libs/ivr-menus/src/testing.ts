import { ivrServiceV1 } from '@switchboard/proto';

// Menus for tests of the evaluator, the mirror and the ivr service (`@switchboard/ivr-menus/testing`):
// builders and the Amt example.

const { TargetKind } = ivrServiceV1;
type Target = ivrServiceV1.Target;

export const department = (ref: string): Target => ({ kind: TargetKind.TARGET_KIND_DEPARTMENT, ref });
export const submenu = (ref: string): Target => ({ kind: TargetKind.TARGET_KIND_SUBMENU, ref });
export const extension = (ref: string): Target => ({ kind: TargetKind.TARGET_KIND_EXTENSION, ref });
export const external = (ref: string): Target => ({ kind: TargetKind.TARGET_KIND_EXTERNAL, ref });
export const voicemail = (ref: string): Target => ({ kind: TargetKind.TARGET_KIND_VOICEMAIL, ref });
export const repeat: Target = { kind: TargetKind.TARGET_KIND_REPEAT, ref: '' };

/** A valid menu with the given id and options; fields can be overridden. */
export function menu(
  menuId: string,
  options: Record<string, Target>,
  extra: Partial<ivrServiceV1.Menu> = {},
): ivrServiceV1.Menu {
  return ivrServiceV1.Menu.fromPartial({
    menuId,
    name: `Menu ${menuId}`,
    language: 'de-DE',
    prompts: [`sound:switchboard/${menuId}`],
    options: Object.entries(options).map(([digits, target]) => ({ digits, target })),
    timeoutMs: 5_000,
    interDigitTimeoutMs: 2_000,
    bargeIn: true,
    maxRetries: 2,
    invalidPrompts: ['sound:switchboard/invalid'],
    noInputPrompts: ['sound:switchboard/no-input'],
    fallback: department('zentrale'),
    ...extra,
  });
}

/**
 * The Amt's main number: registry and civil registry, a fees submenu with a way back, opening
 * hours (closed → the after-hours menu, holiday → voicemail).
 */
export function amtMenus(): ivrServiceV1.Menu[] {
  return [
    menu(
      'main',
      {
        '1': department('meldewesen'),
        '2': submenu('standesamt'),
        '3': extension('4711'),
        '9': repeat,
      },
      {
        entry: true,
        hours: { closed: submenu('after-hours'), holiday: voicemail('zentrale') },
      },
    ),
    menu('standesamt', { '1': department('standesamt'), '2': external('+4943319876543'), '0': submenu('main') }),
    menu('after-hours', { '1': voicemail('zentrale') }, { maxRetries: 0, fallback: voicemail('zentrale') }),
  ];
}
