/** `HH:MM` of an instant on Berlin's clock, as the pages show times of day. */
export const berlinTime = (date: Date) =>
  date.toLocaleTimeString('de-DE', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' });
