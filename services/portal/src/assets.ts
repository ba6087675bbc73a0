/**
 * The portal's stylesheet and client scripts, served from memory under /static/ (no build step,
 * no bundler: the browser gets a few KB). Colours keep a contrast of at least 4.5:1 on their
 * background (WCAG 1.4.3); every focusable element shows a 3 px outline (2.4.7).
 */
export const STYLESHEET = `
:root { --ink: #1b1b1b; --paper: #ffffff; --muted: #4a4a4a; --accent: #00528a; --accent-ink: #ffffff;
  --error: #b00020; --ok: #1e6b2f; --line: #767676; --band: #f2f5f8; --focus: #ffbf47; }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--paper); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; box-shadow: 0 0 0 5px var(--ink); }
.skip-link { position: absolute; left: 0.5rem; top: -3rem; background: var(--ink); color: var(--paper); padding: 0.5rem 1rem; z-index: 10; }
.skip-link:focus { top: 0.5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.site-header { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: 1rem; padding: 0.75rem 1.5rem; background: var(--accent); color: var(--accent-ink); }
.site-header a, .site-header strong { color: var(--accent-ink); }
.portal-name { margin: 0; font-weight: 700; font-size: 1.2rem; }
.header-tools { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; list-style: none; margin: 0; padding: 0; }
.header-tools li > * + * { margin-left: 0.5rem; }
.header-tools form { margin: 0; }
.main-nav { background: var(--band); border-bottom: 1px solid var(--line); padding: 0 1.5rem; }
.main-nav ul { display: flex; flex-wrap: wrap; gap: 0.25rem 1.25rem; list-style: none; margin: 0; padding: 0.5rem 0; }
.main-nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
main { padding: 1rem 1.5rem 3rem; max-width: 80rem; }
main:focus { outline: none; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
caption { text-align: left; font-weight: 700; padding: 0.5rem 0; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--line); }
th { background: var(--band); }
.field { margin: 0 0 1rem; }
.field label { display: block; font-weight: 600; }
.hint { margin: 0.1rem 0; color: var(--muted); font-size: 0.95rem; }
.error { margin: 0.1rem 0; color: var(--error); font-weight: 600; }
.field-invalid input, .field-invalid select { border-color: var(--error); border-width: 2px; }
input, select, textarea { font: inherit; padding: 0.35rem 0.5rem; border: 1px solid var(--line); border-radius: 3px; max-width: 100%; }
button { font: inherit; padding: 0.4rem 1rem; border: 2px solid var(--accent); border-radius: 3px; background: var(--accent); color: var(--accent-ink); cursor: pointer; }
button.secondary { background: var(--paper); color: var(--accent); }
.site-header button { border-color: var(--accent-ink); }
.error-summary { border: 3px solid var(--error); padding: 0.5rem 1rem; margin: 1rem 0; }
.error-summary h2 { margin-top: 0; font-size: 1.1rem; }
.status { border-left: 5px solid var(--ok); padding: 0.5rem 1rem; background: #eef6ef; }
.notice { border-left: 5px solid var(--accent); padding: 0.5rem 1rem; background: var(--band); }
fieldset { border: 1px solid var(--line); margin: 0 0 1rem; padding: 0.5rem 1rem 0.75rem; }
legend { font-weight: 700; padding: 0 0.25rem; }
.inline-form { display: inline; }
.actions { display: flex; gap: 0.75rem; flex-wrap: wrap; align-items: center; }
`;
