import { ivrServiceV1 } from '@switchboard/proto';
import { definePolicy } from '@switchboard/service-kit';

const EDITORS = { admin: 'tenant', operator: 'any-tenant' } as const;

/** Who may call what on the IVR API (the table in services/README.md is generated from this). */
export const ivrPolicy = definePolicy(ivrServiceV1.IvrServiceService, {
  createMenu: { description: 'Creates a menu.', audit: true, allow: EDITORS },
  getMenu: { description: 'One menu.', audit: false, allow: EDITORS },
  listMenus: { description: "The tenant's menus and their revision.", audit: false, allow: EDITORS },
  updateMenu: { description: 'Replaces a menu.', audit: true, allow: EDITORS },
  deleteMenu: { description: 'Deletes a menu.', audit: true, allow: EDITORS },
  saveMenus: { description: 'Creates, replaces and deletes several menus as one change.', audit: true, allow: EDITORS },
  evaluateStep: {
    description: "The next step of a caller in a menu (routing's per-call path, also over NATS).",
    audit: false,
    allow: { ...EDITORS, service: 'any-tenant' },
  },
});
