/** Every service the stack can start, in the order `startStack` starts them by default. */
export const SERVICE_NAMES = [
  'directory',
  'ivr',
  'presence',
  'rating',
  'billing',
  'fax',
  'ari-adapter',
  'routing',
  'portal',
] as const;

export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Services that need the tenant loaded before they take calls; started last. */
export const CALL_PATH: readonly ServiceName[] = ['ari-adapter', 'routing'];

export const MONGO_SERVICES: ReadonlySet<ServiceName> = new Set([
  'directory',
  'ivr',
  'rating',
  'billing',
  'fax',
  'portal',
]);

/** Services that call the others' gRPC APIs with people's tokens; started once everything else runs. */
export const FRONT_ENDS: readonly ServiceName[] = ['portal'];

/** The services whose gRPC API the portal calls, by its `<NAME>_ADDRESS` variable. */
export const PORTAL_BACKENDS = ['directory', 'presence', 'ivr', 'rating', 'billing', 'fax', 'routing'] as const;

/** The provider that issues invoices in a local stack (billing requires a seller). */
export const DEMO_SELLER: Record<string, string> = {
  SELLER_NAME: 'Nordlicht Telekom GmbH',
  SELLER_STREET: 'Hafenstraße 1',
  SELLER_POSTAL_CODE: '24103',
  SELLER_CITY: 'Kiel',
  SELLER_COUNTRY_CODE: 'DE',
  SELLER_VAT_ID: 'DE123456789',
  SELLER_CONTACT_NAME: 'Abrechnung',
  SELLER_CONTACT_PHONE: '+49431123456',
  SELLER_CONTACT_EMAIL: 'abrechnung@nordlicht.example',
  SELLER_IBAN: 'DE02120300000000202051',
  SELLER_BIC: 'BYLADEM1001',
};
