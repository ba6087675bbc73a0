import { defineMessages } from '../../i18n.js';

export const messages = defineMessages({
  de: {
    title: 'Anmelden',
    tenant: 'Mandant',
    tenantHint: 'Die Kennung Ihrer Verwaltung, z. B. t-kropp. Leer lassen für Konten des Anbieters.',
    username: 'Benutzername',
    password: 'Passwort',
    submit: 'Anmelden',
    invalid: 'Anmeldung fehlgeschlagen: Mandant, Benutzername oder Passwort stimmen nicht.',
    locked: 'Dieses Konto ist nach zu vielen Fehlversuchen bis {until} Uhr gesperrt.',
    throttled: 'Zu viele Fehlversuche von Ihrem Anschluss. Bitte warten Sie {seconds} Sekunden.',
  },
  en: {
    title: 'Sign in',
    tenant: 'Tenant',
    tenantHint: "Your administration's id, e.g. t-kropp. Leave empty for the provider's accounts.",
    username: 'Username',
    password: 'Password',
    submit: 'Sign in',
    invalid: 'Sign-in failed: tenant, username or password do not match.',
    locked: 'This account is locked after too many failed attempts until {until}.',
    throttled: 'Too many failed attempts from your connection. Please wait {seconds} seconds.',
  },
});
