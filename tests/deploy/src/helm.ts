// Runs the helm that scripts/bootstrap builds into .tools/bin against a copy of the chart
// without its dependencies: the nats and mongodb charts cannot be downloaded here, and helm
// refuses to render a chart whose declared dependencies are missing, even when disabled.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CHART = join(REPO, 'charts', 'switchboard');
const HELM = process.env['HELM_BIN'] ?? join(REPO, '.tools', 'bin', 'helm');
// A go-installed helm assumes Kubernetes 1.20; render for the versions the chart supports.
const KUBE_VERSION = '1.30.0';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface ChartCopy {
  readonly dir: string;
  lint(valuesFile: string): Promise<string>;
  template(valuesFile: string, ...set: string[]): Promise<Manifest[]>;
  remove(): Promise<void>;
}

export async function chartWithoutDependencies(): Promise<ChartCopy> {
  const dir = await mkdtemp(join(tmpdir(), 'sb-chart-'));
  await cp(CHART, dir, { recursive: true });
  const chart = parse(await readFile(join(dir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  delete chart['dependencies'];
  await writeFile(join(dir, 'Chart.yaml'), stringify(chart));
  const helm = async (...args: string[]) => (await promisify(execFile)(HELM, args, { maxBuffer: 32 << 20 })).stdout;
  return {
    dir,
    lint: (valuesFile) => helm('lint', '--strict', dir, '-f', valuesFile, '--kube-version', KUBE_VERSION),
    template: async (valuesFile, ...set) => {
      const sets = set.flatMap((assignment) => ['--set', assignment]);
      const text = await helm('template', 'sb', dir, '-f', valuesFile, '--kube-version', KUBE_VERSION, ...sets);
      return parseAllDocuments(text)
        .map((document) => {
          if (document.errors.length) throw document.errors[0];
          return document.toJS() as Manifest | null;
        })
        .filter((manifest): manifest is Manifest => manifest !== null);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
