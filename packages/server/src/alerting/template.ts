/**
 * The template language of alert annotations and channel messages: `{{ $name }}` and
 * `{{ $name.key }}` are replaced by a variable (or one key of a map variable), and
 * `{{ range $list }} … {{ end }}` repeats its body once per item of a list variable, with the
 * item's fields as the variables inside. Values pass through `escapeValue` (HTML for email, Slack's
 * `&<>` for mrkdwn); the template's own text does not. Unknown names and keys become empty
 * when rendering; `checkTemplate` reports them (and unbalanced `range`/`end`) so a bad
 * template is refused with the configuration instead of sending empty messages.
 */

export type TemplateValue = string | number | Readonly<Record<string, string>> | readonly TemplateScope[];
export type TemplateScope = Readonly<Record<string, TemplateValue>>;

const TOKEN = /\{\{\s*(?:(range)\s+\$(\w+)|(end)|\$(\w+)(?:\.(\w+))?)\s*\}\}/g;

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'var'; name: string; key?: string }
  | { kind: 'range'; name: string; body: Node[] };

interface Parsed {
  nodes: Node[];
  problems: string[];
}

function parse(template: string): Parsed {
  const problems: string[] = [];
  const root: Node[] = [];
  const stack: { name: string; body: Node[] }[] = [];
  const current = () => stack[stack.length - 1]?.body ?? root;
  let last = 0;
  for (const m of template.matchAll(TOKEN)) {
    if (m.index > last) current().push({ kind: 'text', text: template.slice(last, m.index) });
    last = m.index + m[0].length;
    if (m[1]) stack.push({ name: m[2] as string, body: [] });
    else if (m[3]) {
      const open = stack.pop();
      if (!open) problems.push('"{{ end }}" without "{{ range }}"');
      else current().push({ kind: 'range', name: open.name, body: open.body });
    } else current().push({ kind: 'var', name: m[4] as string, ...(m[5] ? { key: m[5] } : {}) });
  }
  if (last < template.length) current().push({ kind: 'text', text: template.slice(last) });
  // An unclosed range still holds its body, so the body's problems are reported too.
  for (let open = stack.pop(); open; open = stack.pop()) {
    problems.push(`"{{ range $${open.name} }}" without "{{ end }}"`);
    current().push({ kind: 'range', name: open.name, body: open.body });
  }
  const stray = template.replace(TOKEN, '').match(/\{\{[^}]*\}\}/);
  if (stray) problems.push(`unknown template expression ${stray[0]}`);
  return { nodes: root, problems };
}

function format(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

function renderNodes(nodes: readonly Node[], scope: TemplateScope, escapeValue: (s: string) => string): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'range') {
      const list = scope[n.name];
      if (Array.isArray(list)) for (const item of list) out += renderNodes(n.body, { ...scope, ...item }, escapeValue);
    } else {
      const v = scope[n.name];
      if (typeof v === 'string') out += n.key ? '' : escapeValue(v);
      else if (typeof v === 'number') out += n.key ? '' : escapeValue(format(v));
      else if (v && !Array.isArray(v) && n.key) out += escapeValue((v as Record<string, string>)[n.key] ?? '');
    }
  }
  return out;
}

/** Renders a template; unknown names become empty. */
export function expandTemplate(template: string, scope: TemplateScope, escapeValue: (s: string) => string = (s) => s) {
  return renderNodes(parse(template).nodes, scope, escapeValue);
}

/**
 * Problems of a template against the variables it may use: `names` are the top-level
 * variables (a map variable is used as `$name.key`), `lists` the list variables usable in
 * `range` with the names available inside.
 */
export function checkTemplate(
  template: string,
  vars: { names: readonly string[]; maps: readonly string[]; lists: Readonly<Record<string, readonly string[]>> },
  itemVars: { names: readonly string[]; maps: readonly string[] },
): string[] {
  const { nodes, problems } = parse(template);
  const walk = (list: readonly Node[], names: readonly string[], maps: readonly string[], inRange: boolean) => {
    for (const n of list) {
      if (n.kind === 'range') {
        if (!vars.lists[n.name]) problems.push(`"$${n.name}" is not a list (ranges: ${listNames(vars.lists)})`);
        walk(n.body, [...names, ...itemVars.names], [...maps, ...itemVars.maps], true);
      } else if (n.kind === 'var') {
        if (maps.includes(n.name)) {
          if (!n.key) problems.push(`"$${n.name}" is a map: use "$${n.name}.<name>"`);
        } else if (names.includes(n.name)) {
          if (n.key) problems.push(`"$${n.name}" has no keys`);
        } else
          problems.push(
            `unknown variable "$${n.name}"${inRange ? ' inside range' : ''} (known: ${[...names, ...maps]
              .map((x) => `$${x}`)
              .join(', ')})`,
          );
      }
    }
  };
  walk(nodes, vars.names, vars.maps, false);
  return problems;
}

function listNames(lists: Readonly<Record<string, unknown>>): string {
  return Object.keys(lists)
    .map((x) => `$${x}`)
    .join(', ');
}
