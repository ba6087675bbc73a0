import { describe, expect, it } from 'vitest';
import { amtMenus, department, external, extension, menu, repeat, submenu } from '../test/menus.js';
import { MenuValidationError, validateMenuSet } from './menu-validation.js';

function problems(menus: Parameters<typeof validateMenuSet>[0]): readonly string[] {
  try {
    validateMenuSet(menus);
    return [];
  } catch (error) {
    if (error instanceof MenuValidationError) return error.problems;
    throw error;
  }
}

describe('validateMenuSet', () => {
  it('accepts nested menus with a way back, hours branches and every target kind', () => {
    expect(problems(amtMenus())).toEqual([]);
    expect(problems([])).toEqual([]);
  });

  it('rejects a submenu target that does not exist', () => {
    const menus = [menu('main', { '1': submenu('fees') }, { entry: true })];
    expect(problems(menus)).toEqual(['menu "main" option "1": submenu "fees" does not exist']);
  });

  it('rejects a menu no entry menu leads to, and a set without entry menu', () => {
    expect(problems([menu('main', {}, { entry: true }), menu('orphan', {})])).toEqual([
      'menu "orphan" is unreachable from the entry menus (main)',
    ]);
    expect(problems([menu('main', {})])).toEqual(['no entry menu: mark at least one menu as entry']);
  });

  it('rejects submenus that only lead to each other, but not a cycle with a way out', () => {
    const trapped = [
      menu('main', { '1': submenu('a') }, { entry: true }),
      menu('a', { '1': submenu('b'), '9': repeat }, { fallback: submenu('b') }),
      menu('b', { '1': submenu('a') }, { fallback: submenu('a') }),
    ];
    expect(problems(trapped)).toEqual(['menus "a" → "b" → "a" form a loop without exit']);
    const selfTrap = [menu('main', { '1': submenu('main') }, { entry: true, fallback: submenu('main') })];
    expect(problems(selfTrap)).toEqual(['menus "main" → "main" form a loop without exit']);
    const withExit = [trapped[0]!, trapped[1]!, menu('b', { '1': submenu('a'), '2': department('bauhof') })];
    expect(problems(withExit)).toEqual([]);
  });

  it('rejects opening-hours branches that lead to each other', () => {
    const menus = [
      menu('main', { '1': submenu('night') }, { entry: true, hours: { closed: submenu('night'), holiday: undefined } }),
      menu('night', {}, { hours: { closed: submenu('main'), holiday: undefined } }),
    ];
    expect(problems(menus)).toEqual(['opening-hours branches of menus "main" → "night" → "main" form a loop']);
  });

  it('lists every field problem with the menu and option it belongs to', () => {
    const broken = menu(
      'main',
      {
        '1': department('bad id!'),
        '12': extension('12a'),
        '3': external('0431 123'),
        x: department('meldewesen'),
      },
      {
        entry: true,
        name: ' ',
        language: 'not a language',
        prompts: ['main-menu.wav'],
        timeoutMs: 0,
        maxRetries: 12,
        fallback: repeat,
      },
    );
    expect(problems([broken])).toEqual([
      'menu "main": name is required',
      'menu "main": language "not a language" is not a BCP 47 tag like de-DE',
      'menu "main" prompts: "main-menu.wav" is not a media URI like sound:switchboard/main-menu',
      'menu "main": timeout_ms must be between 1000 and 60000',
      'menu "main": max_retries must be between 0 and 9',
      'menu "main" option "1": department "bad id!" is not a valid directory id',
      'menu "main" option "3": external number "0431 123" is not a valid E.164 number',
      'menu "main" option "12": extension "12a" must be 2 to 8 digits',
      'menu "main" option "x": digits must be 1 to 4 of 0-9, * and #',
      'menu "main": option "1" is a prefix of option "12"',
      'menu "main" fallback: repeat is only allowed for options',
    ]);
  });
});
