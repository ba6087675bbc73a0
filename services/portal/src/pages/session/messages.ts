import { defineMessages } from '../../i18n.js';

export const messages = defineMessages({
  de: {
    title: 'Ihre Sitzung läuft bald ab',
    ending: 'Ohne weitere Aktivität endet Ihre Sitzung um {time} Uhr. Nicht gespeicherte Eingaben gehen dann verloren.',
    extend: 'Sitzung verlängern',
    extended: 'Ihre Sitzung wurde verlängert.',
    final:
      'Ihre Sitzung kann nicht weiter verlängert werden (höchstens 12 Stunden). Bitte speichern Sie Ihre Eingaben und melden Sie sich danach neu an.',
    ended: 'Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.',
    signIn: 'Erneut anmelden',
  },
  en: {
    title: 'Your session ends soon',
    ending: 'Without further activity your session ends at {time}. Unsaved input is lost then.',
    extend: 'Extend session',
    extended: 'Your session was extended.',
    final:
      'Your session cannot be extended any further (12 hours at most). Please save your input and sign in again afterwards.',
    ended: 'Your session has ended. Please sign in again.',
    signIn: 'Sign in again',
  },
});
