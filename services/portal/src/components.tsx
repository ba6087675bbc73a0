import type { Child, FC } from 'hono/jsx';

/** The hidden field every form posts back (see csrf.ts). */
export const CsrfField: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

export interface FieldProps {
  name: string;
  label: string;
  value?: string | number | undefined;
  type?: 'text' | 'number' | 'password' | 'search' | 'tel' | 'email' | 'time';
  /** Shown under the label and linked to the input (aria-describedby). */
  hint?: string | undefined;
  /** The field's error, linked to the input and announced with the error summary. */
  error?: string | undefined;
  required?: boolean;
  autocomplete?: string;
  min?: number;
  max?: number;
  readonly?: boolean;
}

/** `field-<name>`: the id of a form control, so error summaries and tests can point at it. */
export const fieldId = (name: string) => `field-${name}`;

/** A labelled input with its hint and error tied to it, as WCAG 1.3.1 / 3.3.1 ask. */
export const Field: FC<FieldProps> = (props) => {
  const id = fieldId(props.name);
  const described = [props.hint ? `${id}-hint` : '', props.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class={props.error ? 'field field-invalid' : 'field'}>
      <label for={id}>
        {props.label}
        {props.required ? <span aria-hidden="true"> *</span> : ''}
      </label>
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
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value === undefined ? '' : String(props.value)}
        required={props.required}
        aria-required={props.required ? 'true' : undefined}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={described || undefined}
        autocomplete={props.autocomplete}
        min={props.min}
        max={props.max}
        readonly={props.readonly}
      />
    </div>
  );
};

export interface SelectProps {
  name: string;
  label: string;
  value: string;
  options: readonly { value: string; label: string }[];
  hint?: string | undefined;
  error?: string | undefined;
}

export const Select: FC<SelectProps> = (props) => {
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
      <select
        id={id}
        name={props.name}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={described || undefined}
      >
        {props.options.map((option) => (
          <option value={option.value} selected={option.value === props.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
};

/** Field errors by field name. */
export type FieldErrors = Readonly<Record<string, string>>;

/**
 * The list of a refused form's errors at its top, each linking to its field; focused on load
 * (tabindex -1 + autofocus) so keyboard and screen reader users land on it.
 */
export const ErrorSummary: FC<{ title: string; errors: FieldErrors; labels: Readonly<Record<string, string>> }> = ({
  title,
  errors,
  labels,
}) => {
  const entries = Object.entries(errors);
  if (entries.length === 0) return <></>;
  return (
    <div class="error-summary" role="alert" tabindex={-1} id="fehler">
      <h2>{title}</h2>
      <ul>
        {entries.map(([name, message]) => (
          <li>
            <a href={`#${fieldId(name)}`}>
              {labels[name] ?? name}: {message}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
};

/** A polite status line (e.g. "Gespeichert.") announced by screen readers. */
export const Status: FC<{ children?: Child }> = ({ children }) => (
  <p class="status" role="status">
    {children}
  </p>
);
