import { corePage } from '../core-routes.js';
import type { PortalPage } from '../routes.js';
import { auditPage } from './audit/index.js';
import { departmentsPage } from './departments/index.js';
import { homePage } from './home/index.js';
import { inboxPage } from './inbox/index.js';
import { hoursPage } from './ivr/hours.js';
import { ivrPage } from './ivr/index.js';
import { invoicesPage } from './invoices/index.js';
import { livePage } from './live/index.js';
import { numbersPoolPage } from './numbers-pool/index.js';
import { numbersPage } from './numbers/index.js';
import { sessionPage } from './session/index.js';
import { signInPage } from './sign-in/index.js';
import { sitesPage } from './sites/index.js';
import { staffPage } from './staff/index.js';
import { tenantPage } from './tenant/index.js';
import { usagePage } from './usage/index.js';

/**
 * Every page of the portal, in navigation order. A new page is a folder under src/pages/<name>/
 * exporting a PortalPage, added here once (see README "How to add a page").
 */
export const PAGES: readonly PortalPage[] = [
  corePage,
  signInPage,
  sessionPage,
  tenantPage,
  homePage,
  sitesPage,
  numbersPage,
  numbersPoolPage,
  departmentsPage,
  ivrPage,
  hoursPage,
  inboxPage,
  staffPage,
  livePage,
  usagePage,
  invoicesPage,
  auditPage,
];
