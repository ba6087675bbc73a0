/** German first (the default), English second. */
export const LANGUAGES = ['de', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'de';
/** The chosen language (not a secret; read on every request). */
export const LANGUAGE_COOKIE = 'sb-lang';

export const isLanguage = (value: unknown): value is Language => LANGUAGES.includes(value as Language);

/** A catalogue: the same keys in every language (a missing translation is a type error). */
export type Catalogue<K extends string> = { readonly [L in Language]: Readonly<Record<K, string>> };

/** Declares a page's messages; `{name}` in a text is filled from the values given to `t`. */
export function defineMessages<const K extends string>(catalogue: Catalogue<K>): Catalogue<K> {
  return catalogue;
}

export type Translate<K extends string> = (key: K, values?: Readonly<Record<string, string | number>>) => string;

/** The texts of `catalogue` in `language`, with placeholders filled. */
export function translator<K extends string>(catalogue: Catalogue<K>, language: Language): Translate<K> {
  const texts = catalogue[language];
  return (key, values) =>
    texts[key].replace(/\{(\w+)\}/g, (whole, name: string) =>
      values && name in values ? String(values[name]) : whole,
    );
}

/** Texts the layout, sign-in and errors share. */
export const common = defineMessages({
  de: {
    portal: 'Switchboard-Portal',
    skipToContent: 'Zum Inhalt springen',
    mainNavigation: 'Hauptnavigation',
    signedInAs: 'Angemeldet als {user} ({role})',
    signOut: 'Abmelden',
    language: 'Sprache',
    tenant: 'Mandant',
    chooseTenant: 'Mandant wählen',
    actingFor: 'Mandant: {tenant}',
    'role.admin': 'Administration',
    'role.supervisor': 'Abteilungsleitung',
    'role.finance': 'Finanzen',
    'role.agent': 'Mitarbeiterin/Mitarbeiter',
    'role.operator': 'Anbieter',
    save: 'Speichern',
    search: 'Suchen',
    cancel: 'Abbrechen',
    saved: 'Gespeichert.',
    formHasErrors: 'Bitte korrigieren Sie die markierten Felder ({count}).',
    'error.title': 'Fehler',
    'error.forbidden': 'Sie haben keine Berechtigung für diese Seite oder Aktion.',
    'error.notFound': 'Nicht gefunden.',
    'error.unavailable': 'Der Dienst {service} ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.',
    'error.csrf': 'Das Formular ist abgelaufen oder kam nicht von diesem Portal. Bitte laden Sie die Seite neu.',
    'error.invalid': 'Die Eingabe wurde abgelehnt: {reason}',
    'error.internal': 'Ein unerwarteter Fehler ist aufgetreten.',
    'error.chooseTenant': 'Bitte wählen Sie zuerst einen Mandanten.',
    'error.required': 'Pflichtfeld.',
    'error.integer': 'Bitte eine ganze Zahl von {min} bis {max} eingeben.',
    backToStart: 'Zur Startseite',
  },
  en: {
    portal: 'Switchboard portal',
    skipToContent: 'Skip to content',
    mainNavigation: 'Main navigation',
    signedInAs: 'Signed in as {user} ({role})',
    signOut: 'Sign out',
    language: 'Language',
    tenant: 'Tenant',
    chooseTenant: 'Choose tenant',
    actingFor: 'Tenant: {tenant}',
    'role.admin': 'administrator',
    'role.supervisor': 'department lead',
    'role.finance': 'finance',
    'role.agent': 'staff member',
    'role.operator': 'provider',
    save: 'Save',
    search: 'Search',
    cancel: 'Cancel',
    saved: 'Saved.',
    formHasErrors: 'Please correct the marked fields ({count}).',
    'error.title': 'Error',
    'error.forbidden': 'You are not allowed to see this page or do this.',
    'error.notFound': 'Not found.',
    'error.unavailable': 'The {service} service cannot be reached right now. Please try again in a moment.',
    'error.csrf': 'The form has expired or did not come from this portal. Please reload the page.',
    'error.invalid': 'The input was refused: {reason}',
    'error.internal': 'An unexpected error occurred.',
    'error.chooseTenant': 'Please choose a tenant first.',
    'error.required': 'Required.',
    'error.integer': 'Please enter a whole number from {min} to {max}.',
    backToStart: 'Back to the start page',
  },
});

export type CommonKey = keyof (typeof common)['de'];
