import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { validateXML } from 'xmllint-wasm';

// The official checks of an XRechnung in UBL syntax, as the KoSIT validator runs them: the OASIS
// UBL 2.1 schema (xmllint-wasm), then the CEN EN 16931 and the KoSIT XRechnung Schematron, both
// compiled to XSLT (phive-rules) and run with Saxon-HE on the machine's Java. scripts/bootstrap
// fetches the rules and Saxon from Maven Central and links them as .tools/xrechnung.

const UBL_DIR = fileURLToPath(new URL('./ubl-2.1/', import.meta.url));
const RULES_DIR = fileURLToPath(new URL('../../../.tools/xrechnung/', import.meta.url));
const RULE_SETS = [
  { name: 'EN16931', stylesheet: 'EN16931-UBL-validation.xslt' },
  { name: 'XRechnung', stylesheet: 'XRechnung-UBL-validation.xslt' },
] as const;

export interface Finding {
  ruleSet: (typeof RULE_SETS)[number]['name'];
  /** The rule, e.g. `BR-CO-10` or `BR-DE-15`. */
  id: string;
  /** `fatal`, `error`, `warning` or `information`, as the rule set flags it. */
  flag: string;
  location: string;
  text: string;
}

export interface Validation {
  /** Messages of the UBL 2.1 schema validation. */
  schemaErrors: string[];
  /** Every failed assertion of both Schematron rule sets. */
  findings: Finding[];
  /** What makes a receiver reject the invoice: schema errors and fatal or error findings. */
  rejections: string[];
}

const run = promisify(execFile);

async function validateAgainstUbl(xml: string): Promise<string[]> {
  const preload = [];
  for (const folder of ['common', 'maindoc']) {
    for (const name of await readdir(path.join(UBL_DIR, folder))) {
      preload.push({
        fileName: `${folder}/${name}`,
        contents: await readFile(path.join(UBL_DIR, folder, name), 'utf8'),
      });
    }
  }
  const result = await validateXML({
    xml: { fileName: 'invoice.xml', contents: xml },
    schema: {
      fileName: 'invoice-validation.xsd',
      contents: await readFile(path.join(UBL_DIR, 'invoice-validation.xsd'), 'utf8'),
    },
    preload,
    maxMemoryPages: 4096,
  });
  return result.valid ? [] : result.errors.map((error) => error.rawMessage);
}

/** The part of xmlbuilder2's DOM element read here (the project compiles without the DOM lib). */
interface SvrlElement {
  localName: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
}
const element = (node: XMLBuilder) => node.node as unknown as SvrlElement;

/** The failed assertions of one SVRL report. */
function failedAsserts(svrl: string, ruleSet: Finding['ruleSet']): Finding[] {
  return create(svrl)
    .root()
    .filter((node) => element(node).localName === 'failed-assert', false, true)
    .map((node) => {
      const assert = element(node);
      return {
        ruleSet,
        id: assert.getAttribute('id') ?? '',
        flag: assert.getAttribute('flag') ?? '',
        location: assert.getAttribute('location') ?? '',
        text: (assert.textContent ?? '').replace(/\s+/g, ' ').trim(),
      };
    });
}

/** Runs one compiled Schematron over every document in `input`, one JVM for all of them. */
async function runRuleSet(rule: (typeof RULE_SETS)[number], input: string, output: string): Promise<void> {
  const java = process.env['JAVA_HOME'] ? path.join(process.env['JAVA_HOME'], 'bin', 'java') : 'java';
  const classPath = ['Saxon-HE.jar', 'xmlresolver.jar'].map((jar) => path.join(RULES_DIR, jar)).join(path.delimiter);
  await mkdir(output);
  await run(
    java,
    [
      '-cp',
      classPath,
      'net.sf.saxon.Transform',
      `-s:${input}`,
      `-xsl:${path.join(RULES_DIR, rule.stylesheet)}`,
      `-o:${output}`,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
}

/**
 * Validates XRechnung documents (UBL Invoice or CreditNote) against the UBL 2.1 schema and the
 * official EN 16931 and XRechnung rules; one result per document, in order. Batched because
 * Saxon compiles each rule set once per run (seconds), then checks each document in milliseconds.
 */
export async function validateXRechnungAll(documents: readonly string[]): Promise<Validation[]> {
  if (!existsSync(path.join(RULES_DIR, '.complete'))) {
    throw new Error(`the XRechnung rules are missing in ${RULES_DIR}; run scripts/bootstrap`);
  }
  const work = await mkdtemp(path.join(tmpdir(), 'sb-xrechnung-'));
  try {
    const input = path.join(work, 'in');
    await mkdir(input);
    const names = documents.map((_document, index) => `doc-${String(index).padStart(4, '0')}.xml`);
    await Promise.all(documents.map((document, index) => writeFile(path.join(input, names[index]!), document)));
    await Promise.all(RULE_SETS.map((rule) => runRuleSet(rule, input, path.join(work, rule.name))));
    return await Promise.all(
      documents.map(async (document, index) => {
        const findings: Finding[] = [];
        for (const rule of RULE_SETS) {
          findings.push(...failedAsserts(await readFile(path.join(work, rule.name, names[index]!), 'utf8'), rule.name));
        }
        const schemaErrors = await validateAgainstUbl(document);
        const rejections = [
          ...schemaErrors.map((message) => `UBL 2.1 schema: ${message}`),
          ...findings
            .filter((finding) => finding.flag === 'fatal' || finding.flag === 'error')
            .map(
              (finding) => `${finding.ruleSet} ${finding.id} (${finding.flag}) at ${finding.location}: ${finding.text}`,
            ),
        ];
        return { schemaErrors, findings, rejections };
      }),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function validateXRechnung(document: string): Promise<Validation> {
  const [result] = await validateXRechnungAll([document]);
  if (!result) throw new Error('the validator returned no result');
  return result;
}
