import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ivrServiceV1 } from '@switchboard/proto';
import type { FC } from 'hono/jsx';
import { CsrfField, ErrorSummary, Field, fieldId, Select, type FieldErrors } from '../../components.js';
import type { PortalContext } from '../../context.js';
import { PortalError } from '../../errors.js';
import { translator, type Translate } from '../../i18n.js';
import { commonText, render } from '../../render.js';
import { api, sessionOf, type PortalPage } from '../../routes.js';
import { messages } from './messages.js';

// The tenant's voice menus: a readable tree from the entry menus, and one menu's form. Saving goes
// through ivr's SaveMenus with the revision the form was read at, so the ivr service's validation
// of the whole set applies (missing submenu, unreachable menu, loop without exit, keys twice or
// one a prefix of another); each of its problems is shown beside the field it names.

const ROLES = ['admin', 'operator'] as const;
const { TargetKind } = ivrServiceV1;
type Menu = ivrServiceV1.Menu;
type Target = ivrServiceV1.Target;
type T = Translate<keyof (typeof messages)['de']>;

const KINDS = ['department', 'submenu', 'extension', 'external', 'voicemail', 'repeat'] as const;
type KindName = (typeof KINDS)[number];
/** Empty option rows the form offers for new keys. */
const NEW_ROWS = 2;

const kindName = (kind: ivrServiceV1.TargetKind): KindName | undefined => {
  if (kind === TargetKind.TARGET_KIND_UNSPECIFIED) return undefined;
  const name = ivrServiceV1.targetKindToJSON(kind).slice('TARGET_KIND_'.length).toLowerCase();
  return (KINDS as readonly string[]).includes(name) ? (name as KindName) : undefined;
};
const kindOf = (name: string): ivrServiceV1.TargetKind | undefined =>
  (KINDS as readonly string[]).includes(name)
    ? ivrServiceV1.targetKindFromJSON(`TARGET_KIND_${name.toUpperCase()}`)
    : undefined;

function describeTarget(t: T, target: Target | undefined, names: ReadonlyMap<string, string>): string {
  const kind = target && kindName(target.kind);
  if (!target || !kind) return t('kind.none');
  if (kind === 'repeat') return t('kind.repeat');
  const name = kind === 'submenu' ? names.get(target.ref) : undefined;
  return `${t(`kind.${kind}`)}: ${name ? `${name} (${target.ref})` : target.ref}`;
}

/** One line of the tree: what a key (or branch) leads to, and the submenu's own lines below it. */
export interface TreeLine {
  label: string;
  target: string;
  children: TreeLine[];
}

/**
 * The menus as a tree from each entry menu; a submenu already shown higher up on the same path is
 * named, not expanded again (menus may lead back, e.g. "0: main menu").
 */
export function menuTree(t: T, menus: readonly Menu[]): Array<{ menu: Menu; lines: TreeLine[] }> {
  const byId = new Map(menus.map((menu) => [menu.menuId, menu]));
  const names = new Map(menus.map((menu) => [menu.menuId, menu.name]));
  const linesOf = (menu: Menu, path: ReadonlySet<string>): TreeLine[] => {
    const line = (label: string, target: Target | undefined): TreeLine => {
      const submenu = target?.kind === TargetKind.TARGET_KIND_SUBMENU ? byId.get(target.ref) : undefined;
      const seen = submenu && path.has(submenu.menuId);
      return {
        label,
        target: describeTarget(t, target, names) + (seen ? ` ${t('again')}` : ''),
        children: submenu && !seen ? linesOf(submenu, new Set([...path, submenu.menuId])) : [],
      };
    };
    return [
      ...menu.options.map((option) => line(t('key', { digits: option.digits }), option.target)),
      line(t('fallbackLine'), menu.fallback),
      ...(menu.hours?.closed ? [line(t('closedLine'), menu.hours.closed)] : []),
      ...(menu.hours?.holiday ? [line(t('holidayLine'), menu.hours.holiday)] : []),
    ];
  };
  return menus.filter((menu) => menu.entry).map((menu) => ({ menu, lines: linesOf(menu, new Set([menu.menuId])) }));
}

const Tree: FC<{ lines: TreeLine[] }> = ({ lines }) => (
  <ul class="tree">
    {lines.map((line) => (
      <li>
        <span class="tree-key">{line.label}</span> → {line.target}
        {line.children.length ? <Tree lines={line.children} /> : ''}
      </li>
    ))}
  </ul>
);

/** The form's field names, for the error summary's links and the browser tests. */
const optionField = (index: number, part: 'digits' | 'kind' | 'ref') => `option-${index}-${part}`;

type Fields = Readonly<Record<string, string>>;

const lines = (text: string | undefined) =>
  (text ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);

function targetOf(fields: Fields, prefix: string): Target | undefined {
  const kind = kindOf(fields[`${prefix}-kind`] ?? '');
  if (kind === undefined) return undefined;
  return { kind, ref: kind === TargetKind.TARGET_KIND_REPEAT ? '' : (fields[`${prefix}-ref`] ?? '').trim() };
}

/**
 * The menu as the form describes it, on top of the stored one (its id, tenant). Numbers that are
 * not whole numbers are the form's own errors; everything else is for the ivr service to judge.
 */
export function menuFromForm(
  stored: Menu,
  fields: Fields,
  optionRows: number,
): { menu: Menu; errors: Record<string, 'integer'> } {
  const errors: Record<string, 'integer'> = {};
  const integer = (name: string) => {
    const text = (fields[name] ?? '').trim();
    if (!/^\d{1,7}$/.test(text)) {
      errors[name] = 'integer';
      return 0;
    }
    return Number(text);
  };
  const options: ivrServiceV1.MenuOption[] = [];
  for (let index = 0; index < optionRows; index++) {
    const digits = (fields[optionField(index, 'digits')] ?? '').trim();
    const target = targetOf(fields, `option-${index}`);
    // A row without key and target is an unused row; anything else goes to the service as it is.
    if (digits === '' && !target) continue;
    options.push({ digits, target });
  }
  const closed = targetOf(fields, 'closed');
  const holiday = targetOf(fields, 'holiday');
  const menu: Menu = {
    ...stored,
    name: (fields['name'] ?? '').trim(),
    language: (fields['language'] ?? '').trim(),
    prompts: lines(fields['prompts']),
    invalidPrompts: lines(fields['invalidPrompts']),
    noInputPrompts: lines(fields['noInputPrompts']),
    timeoutMs: integer('timeoutMs'),
    interDigitTimeoutMs: integer('interDigitTimeoutMs'),
    maxRetries: integer('maxRetries'),
    bargeIn: fields['bargeIn'] === 'on',
    entry: fields['entry'] === 'on',
    options,
    fallback: targetOf(fields, 'fallback'),
    hours: closed || holiday ? { closed, holiday } : undefined,
  };
  return { menu, errors };
}

const FIELD_OF_SETTING: Record<string, string> = {
  name: 'name',
  language: 'language',
  timeout_ms: 'timeoutMs',
  inter_digit_timeout_ms: 'interDigitTimeoutMs',
  max_retries: 'maxRetries',
  menu_id: 'name',
};

/**
 * Which field of the form each of the ivr service's problems concerns. Its problems name the menu
 * and the place: `menu "m" option "1": …`, `menu "m" fallback: …`, `menu "m" hours.closed: …`,
 * `menu "m" prompts: …`, `menu "m": timeout_ms must be …`, `menu "m" is unreachable …`. A problem
 * of another menu (the set is checked as a whole) or of the set goes to `general`.
 */
export function fieldsOfProblems(menu: Menu, problems: readonly string[]): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  const add = (field: string, problem: string) => (fields[field] ??= []).push(problem);
  const at = `menu "${menu.menuId}"`;
  for (const problem of problems) {
    if (!problem.startsWith(at)) {
      add('general', problem);
      continue;
    }
    const rest = problem.slice(at.length);
    const option = /^ option "([^"]*)"/.exec(rest);
    if (option) {
      // A key defined twice is marked on its second row, the one just added.
      const index = menu.options.findLastIndex((candidate) => candidate.digits === option[1]);
      const part = /digits|defined twice/.test(rest) ? 'digits' : /kind/.test(rest) ? 'kind' : 'ref';
      add(index >= 0 ? optionField(index, part) : 'general', problem);
      continue;
    }
    const branch = /^ (fallback|hours\.closed|hours\.holiday)/.exec(rest);
    if (branch) {
      const prefix = branch[1] === 'fallback' ? 'fallback' : branch[1]!.slice('hours.'.length);
      add(`${prefix}-${/kind/.test(rest) ? 'kind' : 'ref'}`, problem);
      continue;
    }
    const prompts = /^ (prompts|invalid_prompts|no_input_prompts):/.exec(rest);
    if (prompts) {
      add(
        { prompts: 'prompts', invalid_prompts: 'invalidPrompts', no_input_prompts: 'noInputPrompts' }[prompts[1]!]!,
        problem,
      );
      continue;
    }
    const prefixOf = /^: option "([^"]*)" is a prefix of option "([^"]*)"/.exec(rest);
    if (prefixOf) {
      const index = menu.options.findIndex((candidate) => candidate.digits === prefixOf[2]);
      add(index >= 0 ? optionField(index, 'digits') : 'general', problem);
      continue;
    }
    const setting = /^: (\w+)/.exec(rest);
    if (setting && FIELD_OF_SETTING[setting[1]!]) {
      add(FIELD_OF_SETTING[setting[1]!]!, problem);
      continue;
    }
    add(/unreachable|entry/.test(rest) ? 'entry' : 'general', problem);
  }
  return fields;
}

const Textarea: FC<{ name: string; label: string; value: string; hint?: string; error?: string | undefined }> = (
  props,
) => {
  const id = fieldId(props.name);
  const described = [props.hint ? `${id}-hint` : '', props.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class={props.error ? 'field field-invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : (
        ''
      )}
      {props.error ? (
        <p class="error" id={`${id}-error`}>
          {props.error}
        </p>
      ) : (
        ''
      )}
      <textarea
        id={id}
        name={props.name}
        rows={3}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={described || undefined}
      >
        {props.value}
      </textarea>
    </div>
  );
};

const Checkbox: FC<{ name: string; label: string; checked: boolean; error?: string | undefined }> = (props) => {
  const id = fieldId(props.name);
  return (
    <div class={props.error ? 'field field-invalid' : 'field'}>
      {props.error ? (
        <p class="error" id={`${id}-error`}>
          {props.error}
        </p>
      ) : (
        ''
      )}
      <input
        type="checkbox"
        id={id}
        name={props.name}
        checked={props.checked}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
      />{' '}
      <label for={id}>{props.label}</label>
    </div>
  );
};

function TargetFields(props: {
  t: T;
  prefix: string;
  legend: string;
  target: Target | undefined;
  errors: FieldErrors;
  repeat: boolean;
}) {
  const { t, prefix, target, errors } = props;
  const kinds = KINDS.filter((kind) => props.repeat || kind !== 'repeat');
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      <Select
        name={`${prefix}-kind`}
        label={t('targetKind')}
        value={(target && kindName(target.kind)) ?? ''}
        options={[
          { value: '', label: t('kind.none') },
          ...kinds.map((kind) => ({ value: kind, label: t(`kind.${kind}`) })),
        ]}
        error={errors[`${prefix}-kind`]}
      />
      <Field name={`${prefix}-ref`} label={t('targetRef')} value={target?.ref ?? ''} error={errors[`${prefix}-ref`]} />
    </fieldset>
  );
}

async function loadMenus(c: PortalContext) {
  return api(c).ivr.listMenus({ tenantId: c.var.tenantId });
}

async function menuForm(
  c: PortalContext,
  menu: Menu,
  revision: string,
  state: { errors?: FieldErrors; status?: string } = {},
): Promise<Response> {
  const t = translator(messages, c.var.language);
  const common = commonText(c);
  const errors = state.errors ?? {};
  const rows = [...menu.options, ...Array.from({ length: NEW_ROWS }, () => ({ digits: '', target: undefined }))];
  const labels: Record<string, string> = {
    general: t('general'),
    name: t('name'),
    language: t('language'),
    prompts: t('prompts'),
    invalidPrompts: t('invalidPrompts'),
    noInputPrompts: t('noInputPrompts'),
    timeoutMs: t('timeoutMs'),
    interDigitTimeoutMs: t('interDigitTimeoutMs'),
    maxRetries: t('maxRetries'),
    entry: t('entry'),
    'fallback-kind': `${t('fallback')}: ${t('targetKind')}`,
    'fallback-ref': `${t('fallback')}: ${t('targetRef')}`,
    'closed-kind': `${t('closed')}: ${t('targetKind')}`,
    'closed-ref': `${t('closed')}: ${t('targetRef')}`,
    'holiday-kind': `${t('holiday')}: ${t('targetKind')}`,
    'holiday-ref': `${t('holiday')}: ${t('targetRef')}`,
  };
  rows.forEach((_row, index) => {
    const legend = t('optionLegend', { index: index + 1 });
    labels[optionField(index, 'digits')] = `${legend}: ${t('digits')}`;
    labels[optionField(index, 'kind')] = `${legend}: ${t('targetKind')}`;
    labels[optionField(index, 'ref')] = `${legend}: ${t('targetRef')}`;
  });
  const count = Object.keys(errors).length;
  return render(c, {
    title: t('editTitle', { name: menu.name || menu.menuId }),
    status: state.status,
    httpStatus: count > 0 ? 422 : 200,
    body: (
      <>
        <ErrorSummary title={common('formHasErrors', { count })} errors={errors} labels={labels} />
        {errors['general'] ? (
          <p class="error" id={`${fieldId('general')}`} tabindex={-1}>
            {errors['general']}
          </p>
        ) : (
          ''
        )}
        <form method="post" action={`/ivr/${encodeURIComponent(menu.menuId)}`}>
          <CsrfField token={sessionOf(c).csrfToken} />
          <input type="hidden" name="revision" value={revision} />
          <input type="hidden" name="rows" value={String(rows.length)} />
          <fieldset>
            <legend>{t('general')}</legend>
            <Field name="name" label={labels['name']!} value={menu.name} error={errors['name']} required />
            <Field
              name="language"
              label={labels['language']!}
              value={menu.language}
              hint={t('languageHint')}
              error={errors['language']}
            />
            <Textarea
              name="prompts"
              label={labels['prompts']!}
              value={menu.prompts.join('\n')}
              hint={t('promptsHint')}
              error={errors['prompts']}
            />
            <Field
              name="timeoutMs"
              type="number"
              label={labels['timeoutMs']!}
              value={menu.timeoutMs}
              error={errors['timeoutMs']}
            />
            <Field
              name="interDigitTimeoutMs"
              type="number"
              label={labels['interDigitTimeoutMs']!}
              value={menu.interDigitTimeoutMs}
              error={errors['interDigitTimeoutMs']}
            />
            <Field
              name="maxRetries"
              type="number"
              label={labels['maxRetries']!}
              value={menu.maxRetries}
              error={errors['maxRetries']}
            />
            <Textarea
              name="invalidPrompts"
              label={labels['invalidPrompts']!}
              value={menu.invalidPrompts.join('\n')}
              error={errors['invalidPrompts']}
            />
            <Textarea
              name="noInputPrompts"
              label={labels['noInputPrompts']!}
              value={menu.noInputPrompts.join('\n')}
              error={errors['noInputPrompts']}
            />
            <Checkbox name="bargeIn" label={t('bargeIn')} checked={menu.bargeIn} />
            <Checkbox name="entry" label={labels['entry']!} checked={menu.entry} error={errors['entry']} />
          </fieldset>
          <h2>{t('options')}</h2>
          {rows.map((row, index) => (
            <fieldset>
              <legend>{t('optionLegend', { index: index + 1 })}</legend>
              <Field
                name={optionField(index, 'digits')}
                label={t('digits')}
                value={row.digits}
                error={errors[optionField(index, 'digits')]}
              />
              <TargetFields
                t={t}
                prefix={`option-${index}`}
                legend={t('targetKind')}
                target={row.target}
                errors={errors}
                repeat
              />
            </fieldset>
          ))}
          <TargetFields
            t={t}
            prefix="fallback"
            legend={t('fallback')}
            target={menu.fallback}
            errors={errors}
            repeat={false}
          />
          <h2>{t('hours')}</h2>
          <TargetFields
            t={t}
            prefix="closed"
            legend={t('closed')}
            target={menu.hours?.closed}
            errors={errors}
            repeat={false}
          />
          <TargetFields
            t={t}
            prefix="holiday"
            legend={t('holiday')}
            target={menu.hours?.holiday}
            errors={errors}
            repeat={false}
          />
          <button type="submit">{t('save')}</button> <a href="/ivr">{t('back')}</a>
        </form>
      </>
    ),
  });
}

/** Saves one menu through SaveMenus at the revision it was read at; the service's problems by field. */
async function save(
  c: PortalContext,
  menu: Menu,
  revision: string,
): Promise<{ saved: true } | { saved: false; problems: Record<string, string[]> } | { saved: false; stale: true }> {
  try {
    await api(c).ivr.saveMenus({
      tenantId: c.var.tenantId,
      menus: [menu],
      deleteMenuIds: [],
      expectedRevision: revision,
    });
    return { saved: true };
  } catch (error) {
    // Someone saved the menus since the form was read: nothing is overwritten.
    if ((error as Partial<ServiceError>).code === GrpcStatus.ABORTED) return { saved: false, stale: true };
    if (error instanceof PortalError && error.status === 400) {
      return { saved: false, problems: fieldsOfProblems(menu, String(error.values['reason'] ?? '').split('; ')) };
    }
    throw error;
  }
}

const menuIdOf = (c: PortalContext) => c.req.param('menuId') ?? '';

function storedMenu(menus: readonly Menu[], menuId: string): Menu {
  const menu = menus.find((candidate) => candidate.menuId === menuId);
  if (!menu) throw new PortalError(404, 'error.notFound', {}, `no menu ${menuId}`);
  return menu;
}

const joinProblems = (problems: Record<string, string[]>): FieldErrors =>
  Object.fromEntries(Object.entries(problems).map(([field, list]) => [field, list.join(' ')]));

export const ivrPage: PortalPage = {
  name: 'ivr',
  nav: { path: '/ivr', label: { de: messages.de.label, en: messages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/ivr',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const { menus } = await loadMenus(c);
        const trees = menuTree(t, menus);
        return render(c, {
          title: t('title'),
          status: c.req.query('gespeichert') ? t('saved') : undefined,
          body: (
            <>
              <p>{t('intro')}</p>
              <p>
                <a href="/oeffnungszeiten">{t('hoursLink')}</a>
              </p>
              {menus.length === 0 ? (
                <p>{t('none')}</p>
              ) : (
                <>
                  <ul>
                    {menus.map((menu) => (
                      <li>
                        <a href={`/ivr/${encodeURIComponent(menu.menuId)}`}>{t('edit', { name: menu.name })}</a>
                      </li>
                    ))}
                  </ul>
                  <h2 id="baum">{t('preview')}</h2>
                  <p>{t('previewHint')}</p>
                  {trees.map(({ menu, lines }) => (
                    <section aria-label={menu.name}>
                      <h3>{menu.name}</h3>
                      <Tree lines={lines} />
                    </section>
                  ))}
                </>
              )}
            </>
          ),
        });
      },
    },
    {
      method: 'GET',
      path: '/ivr/:menuId',
      allow: ROLES,
      handler: async (c) => {
        const { menus, revision } = await loadMenus(c);
        return menuForm(c, storedMenu(menus, menuIdOf(c)), revision);
      },
    },
    {
      method: 'POST',
      path: '/ivr/:menuId',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const common = commonText(c);
        const body = await c.req.parseBody();
        const fields = Object.fromEntries(
          Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
        );
        const { menus } = await loadMenus(c);
        const stored = storedMenu(menus, menuIdOf(c));
        const revision = /^\d{1,18}$/.test(fields['revision'] ?? '') ? fields['revision']! : '0';
        const rows = Math.min(Number(fields['rows'] ?? 0) || 0, 100);
        const { menu, errors } = menuFromForm(stored, fields, rows);
        if (Object.keys(errors).length > 0) {
          const messagesOf = Object.fromEntries(
            Object.keys(errors).map((field) => [field, common('error.integer', { min: 0, max: 9_999_999 })]),
          );
          return menuForm(c, menu, revision, { errors: messagesOf });
        }
        const result = await save(c, menu, revision);
        if ('stale' in result) return menuForm(c, menu, revision, { errors: { general: t('stale') } });
        if (!result.saved) return menuForm(c, menu, revision, { errors: joinProblems(result.problems) });
        return c.redirect('/ivr?gespeichert=1', 303);
      },
    },
    {
      method: 'GET',
      path: '/api/ivr/menus',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const { menus, revision } = await loadMenus(c);
        return c.json({
          revision,
          menus: menus.map((menu) => ivrServiceV1.Menu.toJSON(menu)),
          tree: menuTree(t, menus).map(({ menu, lines }) => ({ menuId: menu.menuId, lines })),
        });
      },
    },
    {
      method: 'PUT',
      path: '/api/ivr/menus/:menuId',
      allow: ROLES,
      handler: async (c) => {
        const body = (await c.req.json().catch(() => undefined)) as { menu?: unknown; revision?: unknown } | undefined;
        if (!body || typeof body.menu !== 'object' || body.menu === null) {
          throw new PortalError(400, 'error.invalid', { reason: 'menu' }, 'expected {"menu": {...}, "revision": n}');
        }
        const menu = {
          ...ivrServiceV1.Menu.fromJSON(body.menu),
          tenantId: c.var.tenantId,
          menuId: menuIdOf(c),
        };
        const revision = /^\d{1,18}$/.test(String(body.revision ?? '')) ? String(body.revision) : '0';
        const result = await save(c, menu, revision);
        if ('stale' in result) {
          throw new PortalError(409, 'error.invalid', { reason: 'revision' }, 'the menus changed since that revision');
        }
        if (!result.saved) return c.json({ error: 'refused by the ivr service', fields: result.problems }, 422);
        const { revision: now } = await loadMenus(c);
        return c.json({ saved: menu.menuId, revision: now });
      },
    },
  ],
};
