import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { MAX_SIGNATURES } from './recog.js';
import { loadSignatureFile, MAX_FILE_BYTES, parsePayload, parseSignatureText } from './signature-file.js';
import { matchSignatures } from './signature.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../test/fixtures/signatures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'portolan-sigs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write `content` to a temp file and return its path. */
function temp(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The UsageError parsing `text` throws. */
function errorOf(text: string, source = 'sigs.yaml'): UsageError {
  try {
    parseSignatureText(text, source);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('expected the text to be rejected');
}

async function loadError(path: string): Promise<UsageError> {
  try {
    await loadSignatureFile(path);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected ${path} to be rejected`);
}

describe('loadSignatureFile on the fixtures', () => {
  it('loads the YAML format: signatures, shared probes, templates, fields', async () => {
    const loaded = await loadSignatureFile(fixture('user.yaml'));
    expect(loaded.source).toBe(fixture('user.yaml'));
    expect(loaded.warnings).toEqual([]);
    expect(loaded.signatures).toHaveLength(5);
    expect(loaded.probes.map((p) => p.name)).toEqual(['acme-hello', 'bingo']);
    const [hello, bingo] = loaded.probes;
    expect(hello).toEqual({ name: 'acme-hello', payload: Buffer.from('HELLO\r\n'), ports: [7777, 7778], rarity: 6 });
    expect(bingo).toEqual({ name: 'bingo', payload: Buffer.from('BINGO?\0', 'latin1'), ports: [9999], rarity: 5, tls: false });
    // Both acme signatures share one probe object, so the runner sends it once.
    expect(loaded.signatures[0]?.probe).toBe(hello);
    expect(loaded.signatures[1]?.probe).toBe(hello);
    expect(loaded.signatures[0]?.origin).toBe(`${fixture('user.yaml')}:10`);
    expect(loaded.signatures[0]?.cpe).toEqual(['cpe:2.3:a:acme:widget_server:$1:*:*:*:*:*:*:*']);

    const sigs = loaded.signatures;
    expect(matchSignatures(sigs, Buffer.from('ACME-2.4 ready\r\n'))).toEqual({
      service: 'acme',
      product: 'Acme Widget Server',
      version: '2.4',
      cpe: ['cpe:2.3:a:acme:widget_server:2.4:*:*:*:*:*:*:*'],
      confidence: 9,
    });
    expect(matchSignatures(sigs, Buffer.from('ACME-ERR bad request'))).toMatchObject({ service: 'acme', confidence: 8 });
    expect(matchSignatures(sigs, undefined, { 'ssh.banner': 'widgetssh_1.9' })).toMatchObject({ product: 'WidgetSSH', version: '1.9', ostype: 'Linux', cpe: ['cpe:2.3:a:acme:widgetssh:1.9:*:*:*:*:*:*:*'] });
    expect(matchSignatures(sigs, undefined, { 'http_header.server': 'GIZMO/0.9b' })).toMatchObject({ service: 'http', version: '0.9b', confidence: 7 });
    expect(matchSignatures(sigs, Buffer.from('xx BINGO 42'))).toMatchObject({ service: 'bingo', extrainfo: 'build 42' });
    expect(matchSignatures(sigs, Buffer.from('\u0000\u00ff garbage'))).toBeUndefined();
  });
  it('loads the JSON format with the same meaning', async () => {
    const loaded = await loadSignatureFile(fixture('user.json'));
    expect(loaded.signatures).toHaveLength(4);
    expect(loaded.probes.map((p) => [p.name, p.payload.toString('latin1'), p.rarity])).toEqual([
      ['acme-hello', 'HELLO\r\n', 6],
      ['memcached-version', 'version\r\n', 3],
    ]);
    expect(loaded.signatures[0]?.probe).toBe(loaded.signatures[1]?.probe);
    expect(loaded.signatures[0]?.origin).toBe(`${fixture('user.json')}:#1`);
    expect(matchSignatures(loaded.signatures, Buffer.from('VERSION 1.6.21\r\n'))).toMatchObject({ product: 'Memcached', version: '1.6.21' });
    expect(matchSignatures(loaded.signatures, undefined, { 'smtp.banner': '220 mx.example.org ESMTP Gadget-MTA 5' })).toMatchObject({ hostname: 'mx.example.org', version: '5' });
  });
  it('sniffs Recog XML by content, whatever the file is called', async () => {
    const path = temp('looks-like.yaml', (await import('node:fs')).readFileSync(fixture('recog-ssh.xml')));
    const loaded = await loadSignatureFile(path);
    expect(loaded.signatures).toHaveLength(3);
    expect(loaded.signatures[0]).toMatchObject({ service: 'ssh', field: 'ssh.banner' });
    expect(loaded.warnings).toEqual([]);
    expect((await loadSignatureFile(fixture('recog-bad-examples.xml'))).warnings.length).toBeGreaterThan(0);
  });
});

describe('errors in the user format', () => {
  it('names the file, the signature, its line and the field', () => {
    const e = errorOf('signatures:\n  - service: ssh\n    match: ^x\n  - match: ^y\n');
    expect(e.code).toBe('E_SIGNATURES');
    expect(e.message).toBe('signature file sigs.yaml: signature 2 (line 4): service: missing; it is required');
  });
  it('gives JSON files line numbers too', () => {
    const e = errorOf('{\n "signatures": [\n  {"service": "a", "match": "x"},\n  {"service": "a", "match": "(x"}\n ]\n}', 'sigs.json');
    expect(e.message).toMatch(/^signature file sigs\.json: signature 2 \(line 4\): match "\(x": unbalanced parentheses/);
  });
  it('lists every problem, the first few in the message', () => {
    const text = ['signatures:', ...['(', ')', '[', '*', 'ok'].map((m) => `  - { service: x, match: '${m}' }`)].join('\n');
    const e = errorOf(text);
    expect(e.message).toMatch(/^signature file sigs\.yaml: 4 problems: signature 1 \(line 2\)/);
    expect(e.message).toMatch(/; and 1 more$/);
    expect(e.problems).toHaveLength(4);
    expect(e.problems[3]).toMatch(/^sigs\.yaml: signature 4 \(line 5\): match "\*": quantifier/);
  });
  it('rejects typos, bad values and bad templates with a hint', () => {
    const cases: [string, RegExp][] = [
      ['{ service: x, match: a, prodcut: y }', /Unrecognized key: "prodcut"/],
      ['{ service: x, match: a, flags: g }', /flags: use letters i, s, m, x/],
      ['{ service: "two words", match: a }', /service: use nmap's service name/],
      ['{ service: x, match: "" }', /match: Too small/],
      ['{ service: x, match: a, confidence: 11 }', /confidence: Too big/],
      ['{ service: x, match: a, field: "SSH Banner" }', /field: use a field name/],
      ['{ service: x, match: "(a)", version: "$2" }', /version uses \$2 but the pattern has 1 capture group$/],
      ['{ service: x, match: "(?<v>a)", version: "${w}" }', /version uses \$\{w\} but the pattern has no group \(\?<w>…\)/],
      ['{ service: x, match: a, cpe: openssh }', /cpe "openssh" is not a CPE; write cpe:2\.3:/],
      ['{ service: x, match: "(a)", cpe: "cpe:/a:x:y:$3" }', /cpe uses \$3/],
      ['{ service: x, match: a, probe: nope }', /probe "nope" is not defined/],
      ['{ service: x, match: a, probe: { name: p, send: "\\\\q" } }', /probe\.send: unknown escape "\\\\q"/],
      ['{ service: x, match: a, probe: { name: p, send: x, ports: [0] } }', /probe\.ports\.0: Too small/],
      ['{ service: x, match: a, probe: { name: p, send: x, rarity: 10 } }', /probe\.rarity: Too big/],
      ['{ service: x, match: "\\\\p{L}" }', /unsupported escape \\p/],
    ];
    for (const [sig, re] of cases) expect(errorOf(`signatures:\n  - ${sig}\n`).message, sig).toMatch(re);
  });
  it('rejects a probe name defined twice with different contents', () => {
    const text = 'probes:\n  - { name: p, send: a }\nsignatures:\n  - { service: x, match: a, probe: { name: p, send: b } }\n';
    expect(errorOf(text).message).toMatch(/probe "p" is defined twice with different contents/);
  });
  it('warns about unused probes, unknown fields and approximated regexes', () => {
    const text = 'probes:\n  - { name: spare, send: a }\nsignatures:\n  - { service: x, match: "(?>a)+", field: foo.bar }\n';
    const loaded = parseSignatureText(text, 'w.yaml');
    expect(loaded.probes).toEqual([]);
    expect(loaded.warnings.join('\n')).toMatch(/probe "spare" is not used/);
    expect(loaded.warnings.join('\n')).toMatch(/field "foo\.bar" is not one portolan fills/);
    expect(loaded.warnings.join('\n')).toMatch(/signature 1 \(line 4\): atomic groups/);
  });
  it('checks examples and warns about the ones that fail', () => {
    const text = [
      'signatures:',
      "  - service: x",
      "    match: '^X (\\d+)\\r\\n'",
      '    version: $1',
      '    examples:',
      "      - { reply: 'X 1\\r\\n', expect: { version: '1' } }",
      "      - { reply: 'X 2\\r\\n', expect: { version: '3' } }",
      "      - { reply: 'Y', expect: { version: '1' } }",
      "      - { reply: 'X 1\\r\\n', expect: { product: P } }",
      "      - { reply: '\\q' }",
    ].join('\n');
    const loaded = parseSignatureText(text, 'e.yaml');
    expect(loaded.warnings).toEqual([
      'signature 1 (line 2) example 2: version is "2", the example expects "3"',
      'signature 1 (line 2) example 3: does not match "Y"',
      'signature 1 (line 2) example 4: product is missing, the example expects "P"',
      'signature 1 (line 2) example 5: reply: unknown escape "\\\\q"; use \\r \\n \\t \\0 \\xHH \\\\',
    ]);
    expect(errorOf('signatures:\n  - { service: x, match: a, examples: [{ reply: a, expect: { colour: red } }] }\n').message).toMatch(/Unrecognized key: "colour"/);
  });
  it('explains the expected shape for the wrong top level', () => {
    expect(errorOf('- service: x\n  match: a\n').message).toMatch(/expected object, received array \(the file must be a mapping with a top-level signatures: list\)/);
    expect(errorOf('signatures: []\n').message).toMatch(/the list is empty/);
    expect(errorOf('hello\n').message).toMatch(/top-level signatures: list/);
    expect(errorOf('{"signatures": [{"service": "x", "match": "a"}], "extra": 1}').message).toMatch(/Unrecognized key: "extra"/);
  });
  it('caps the number of signatures', () => {
    const many = JSON.stringify({ signatures: Array.from({ length: MAX_SIGNATURES + 1 }, () => ({ service: 'x', match: 'a' })) });
    expect(errorOf(many).message).toMatch(/signatures: Too big/);
  });
});

describe('hostile files', () => {
  it('refuses a YAML alias bomb without expanding it', () => {
    const rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) rows.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    rows.push('signatures: [*i]');
    const started = Date.now();
    expect(errorOf(rows.join('\n')).message).toMatch(/YAML rejected: Excessive alias count/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
  it('resolves no YAML tags and refuses duplicate keys and broken syntax', () => {
    expect(errorOf('signatures:\n  - service: !!js/function "x"\n    match: a\n').message).toMatch(/Unresolved tag/);
    expect(errorOf('signatures:\n  - service: x\n    match: !!binary aGk=\n').message).toMatch(/Unresolved tag/);
    expect(errorOf('signatures:\n  - service: x\n    service: y\n    match: a\n').message).toMatch(/at line 3: Map keys must be unique/);
    expect(errorOf('signatures: [\n').message).toMatch(/not valid YAML or JSON/);
    expect(errorOf('{"signatures": [').message).toMatch(/not valid YAML or JSON/);
  });
  it('rejects empty, binary, non-UTF-8, oversized and unreadable files', async () => {
    expect((await loadError(temp('empty.yaml', ''))).message).toMatch(/the file is empty; add a top-level signatures: list/);
    expect((await loadError(temp('blank.yaml', '\uFEFF \n\t\n'))).message).toMatch(/the file is empty/);
    expect((await loadError(temp('bin.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]))))).toMatchObject({ code: 'E_SIGNATURES' });
    expect((await loadError(temp('bin.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3])))).message).toMatch(/binary data/);
    expect((await loadError(temp('latin1.yaml', Buffer.from('signatures: [caf\xe9]', 'latin1')))).message).toMatch(/not UTF-8 text/);
    const big = temp('big.yaml', '');
    truncateSync(big, MAX_FILE_BYTES + 1);
    expect((await loadError(big)).message).toMatch(/larger than 32 MiB; split it/);
    expect((await loadError(join(dir, 'missing.yaml'))).message).toMatch(/cannot read it: no such file/);
    expect((await loadError(dir)).message).toMatch(/it is a directory/);
  });
  it('does not read an endless device past the cap', async () => {
    expect((await loadError('/dev/zero')).message).toMatch(/larger than|binary data/);
  });
  it('escapes control characters in the path it prints', async () => {
    const e = await loadError(join(dir, 'bad\u001b[31mname.yaml'));
    expect(e.message).toContain('bad\\x1b[31mname.yaml');
    expect(e.message).not.toContain('\u001b');
  });
  it('survives random garbage text', () => {
    let seed = 11;
    for (let n = 0; n < 200; n++) {
      let s = '';
      for (let i = 0; i < 64; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        s += String.fromCharCode(32 + (seed % 95));
      }
      try {
        parseSignatureText(s, 'g.yaml');
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
      }
    }
  });
});

describe('parsePayload', () => {
  it('decodes escapes to bytes', () => {
    expect(parsePayload('HELLO\\r\\n\\x00\\xff\\t\\0\\\\\\"\\e')).toEqual(Buffer.from([...Buffer.from('HELLO\r\n'), 0, 0xff, 9, 0, 0x5c, 0x22, 0x1b]));
    expect(parsePayload('caf\u00e9')).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect(parsePayload('')).toEqual(Buffer.alloc(0));
  });
  it('rejects unknown escapes, non-byte characters and oversized payloads', () => {
    expect(() => parsePayload('\\q')).toThrow(/unknown escape/);
    expect(() => parsePayload('\\x4')).toThrow(/unknown escape/);
    expect(() => parsePayload('ab\\')).toThrow(/unknown escape/);
    expect(() => parsePayload('\u263a')).toThrow(/not a byte/);
    expect(() => parsePayload('a'.repeat(5000))).toThrow(/longer than 4096 bytes/);
  });
});
