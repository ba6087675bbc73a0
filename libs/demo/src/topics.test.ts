import { DEFAULT_MENUS_FILE } from '@switchboard/stack';
import { describe, expect, it } from 'vitest';
import { topicsFromMenus } from './topics.js';

describe('topicsFromMenus', () => {
  it('finds the keys to every department of the demo menus, through the civil-registry submenu too', async () => {
    const topics = await topicsFromMenus(DEFAULT_MENUS_FILE, 'main-menu');
    expect(topics).toContainEqual({ department: 'buergerbuero', digits: ['1'] });
    expect(topics).toContainEqual({ department: 'standesamt', digits: ['2', '2'] });
    expect(new Set(topics.map((topic) => topic.department)).size).toBe(9);
    await expect(topicsFromMenus(DEFAULT_MENUS_FILE, 'after-hours')).rejects.toThrow(/leads to no department/);
  });
});
