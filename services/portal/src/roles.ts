import { ROLES, type Role } from '@switchboard/service-kit';

/** The platform's roles a person signs in with; `service` is for Switchboard's own services only. */
export type PortalRole = Exclude<Role, 'service'>;
export const PORTAL_ROLES = ROLES.filter((role): role is PortalRole => role !== 'service');
