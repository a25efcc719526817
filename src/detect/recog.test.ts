import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { checkRecogExamples } from './recog-examples.js';
import { cpeTemplateTo23, decodeXmlText, parseRecogXml } from './recog.js';
import { matchSignatures } from './signature.js';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/signatures/${name}`, import.meta.url), 'utf8');

/** The UsageError parsing `xml` throws. */
function errorOf(xml: string, source = 'test.xml'): UsageError {
  try {
    parseRecogXml(xml, source);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('expected the XML to be rejected');
}

const wrap = (body: string, matches = 'ssh.banner'): string => `<?xml version="1.0"?>\n<fingerprints matches="${matches}">\n${body}\n</fingerprints>\n`;

describe('parseRecogXml on the fixtures', () => {
  it('maps an ssh.banner database to ssh signatures with templates and CPEs', () => {
    const db = parseRecogXml(fixture('recog-ssh.xml'), 'recog-ssh.xml');
    expect(db).toMatchObject({ matches: 'ssh.banner', field: 'ssh.banner', service: 'ssh' });
    expect(db.fingerprints).toHaveLength(3);
    const [openssh, widget, router] = db.fingerprints.map((f) => f.signature);
    expect(openssh).toMatchObject({
      service: 'ssh',
      field: 'ssh.banner',
      product: 'OpenSSH',
      version: '$1',
      cpe: ['cpe:2.3:a:openbsd:openssh:$1:*:*:*:*:*:*:*'],
      origin: 'recog-ssh.xml:8',
    });
    // service.vendor + product become a CPE when the database gives none.
    expect(widget?.cpe).toEqual(['cpe:2.3:a:acme_widgets:widgetssh:$1:*:*:*:*:*:*:*']);
    expect(router).toMatchObject({ ostype: 'Linux', devicetype: 'Router', hostname: '$2', extrainfo: 'RouterOS $1', confidence: 8 });
    expect(router?.cpe).toEqual(['cpe:2.3:o:example:routeros:$1:*:*:*:*:*:*:*']);
  });
  it('produces identifications through the shared matcher', () => {
    const sigs = parseRecogXml(fixture('recog-ssh.xml'), 'recog-ssh.xml').fingerprints.map((f) => f.signature);
    expect(matchSignatures(sigs, undefined, { 'ssh.banner': 'OpenSSH_9.2p1 Debian-2+deb12u3' })).toEqual({
      service: 'ssh',
      product: 'OpenSSH',
      version: '9.2p1',
      cpe: ['cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*'],
      confidence: 9,
    });
    expect(matchSignatures(sigs, undefined, { 'ssh.banner': 'WIDGETSSH_00ff' })).toMatchObject({ product: 'WidgetSSH', version: '00ff' });
    expect(matchSignatures(sigs, undefined, { 'ssh.banner': 'RouterOS-SSH_6.49 on gw-1' })).toMatchObject({
      product: 'RouterOS sshd',
      version: '6.49',
      hostname: 'gw-1',
      ostype: 'Linux',
      devicetype: 'Router',
      extrainfo: 'RouterOS 6.49',
      confidence: 8,
    });
    expect(matchSignatures(sigs, undefined, { 'ssh.banner': 'SSH-2.0-Other' })).toBeUndefined();
    expect(matchSignatures(sigs, Buffer.from('OpenSSH_9.2p1'))).toBeUndefined();
  });
  it('decodes entities in patterns, values and examples, and base64 examples', () => {
    const db = parseRecogXml(fixture('recog-http.xml'), 'recog-http.xml');
    expect(db.service).toBe('http');
    const acme = db.fingerprints[1]!;
    expect(acme.compiled.regex.source).toBe('^Acme&Co Web\\/(\\d+)<beta>$');
    expect(acme.examples[0]?.text).toBe('Acme&Co Web/4<beta>');
    expect(acme.signature.cpe).toEqual(['cpe:2.3:a:acme_\\&_co:acme_web:$1:*:*:*:*:*:*:*']);
    expect(acme.description).toBe('Entities in a pattern: a made-up server "Acme&Co Web/N<beta>"');
    const gizmo = db.fingerprints[2]!;
    expect(gizmo.examples[0]?.text).toBe('GizmoWeb/3.1 (build\n77)');
    expect(gizmo.compiled.regex.flags).toBe('ims');
    const sigs = db.fingerprints.map((f) => f.signature);
    expect(matchSignatures(sigs, undefined, { 'http_header.server': 'nginx/1.22.1 (Debian)' })).toMatchObject({ product: 'nginx', version: '1.22.1', ostype: 'Linux', extrainfo: 'Debian' });
    expect(matchSignatures(sigs, undefined, { 'http_header.server': 'PrintCo-EWS/2.5' })).toMatchObject({ devicetype: 'Printer', extrainfo: 'PrintCo LaserBox' });
  });
});

describe('matches mapping', () => {
  const one = '<fingerprint pattern="^x$"><description>x</description></fingerprint>';
  it('accepts any http_header.<name> and falls back to the file name', () => {
    expect(parseRecogXml(wrap(one, 'http_header.x-powered-by'), 'a.xml')).toMatchObject({ service: 'http', field: 'http_header.x-powered-by' });
    const noMatches = `<fingerprints>${one}</fingerprints>`;
    expect(parseRecogXml(noMatches, '/db/ftp_banners.xml')).toMatchObject({ matches: 'ftp.banner', service: 'ftp' });
    expect(parseRecogXml(wrap(one, 'imap4.banner'), 'a.xml')).toMatchObject({ service: 'imap' });
    expect(parseRecogXml(wrap(one, 'mysql.banners'), 'a.xml')).toMatchObject({ service: 'mysql', field: 'mysql.banner' });
    expect(parseRecogXml(wrap(one, 'dns.versionbind'), 'a.xml')).toMatchObject({ service: 'domain', field: 'dns.version_bind' });
  });
  it('rejects databases we cannot use, naming the supported ones', () => {
    expect(errorOf(wrap(one, 'smtp.ehlo')).message).toMatch(/not supported/);
    const e = errorOf(wrap(one, 'favicon.md5'));
    expect(e.code).toBe('E_SIGNATURES');
    expect(e.message).toMatch(/matches="favicon\.md5" is not supported; use one of ssh\.banner/);
  });
});

describe('bad and hostile databases', () => {
  it('names the fingerprint, its line and the pattern for an untranslatable regex', () => {
    const e = errorOf(wrap('<fingerprint pattern="^a\\Gb"><description>x</description></fingerprint>'));
    expect(e.message).toBe('signature file test.xml: fingerprint 1 (line 3): pattern "^a\\\\Gb": unsupported escape \\G (no JavaScript equivalent without the u flag) at offset 2');
  });
  it('lists every bad fingerprint', () => {
    const bad = '<fingerprint pattern="(x"/><fingerprint/><fingerprint pattern="(a)"><param pos="2" name="service.version"/></fingerprint>';
    const e = errorOf(wrap(bad));
    expect(e.message).toMatch(/^signature file test\.xml: 3 problems: fingerprint 1 \(line 3\): pattern "\(x": unbalanced/);
    expect(e.problems).toHaveLength(3);
    expect(e.problems[1]).toMatch(/fingerprint 2 .*has no pattern attribute/);
    expect(e.problems[2]).toMatch(/uses group 2 but the pattern has 1/);
  });
  it('rejects bad params and CPE values', () => {
    expect(errorOf(wrap('<fingerprint pattern="x"><param name="a" pos="z"/></fingerprint>')).message).toMatch(/numeric pos/);
    expect(errorOf(wrap('<fingerprint pattern="x"><param name="service.cpe23" pos="0" value="openssh"/></fingerprint>')).message).toMatch(/is not a CPE/);
  });
  it('never expands entities: a billion-laughs file is refused at once', () => {
    const lol = ['<!ENTITY lol "lol">'];
    for (let i = 1; i < 10; i++) lol.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    const xml = `<?xml version="1.0"?>\n<!DOCTYPE fingerprints [\n${lol.join('\n')}\n]>\n<fingerprints matches="ssh.banner"><fingerprint pattern="&lol9;"/></fingerprints>`;
    const started = Date.now();
    expect(errorOf(xml).message).toMatch(/declares entities/);
    expect(Date.now() - started).toBeLessThan(1000);
  });
  it('refuses external entities and undefined entity references', () => {
    expect(errorOf('<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]><fingerprints/>').message).toMatch(/declares entities/);
    expect(errorOf(wrap('<fingerprint pattern="&x;"/>')).message).toMatch(/fingerprint 1 \(line 3\): undefined entity &x;/);
    expect(errorOf('<fingerprints matches="&x;"><fingerprint pattern="a"/></fingerprints>').message).toMatch(/undefined entity &x;/);
    expect(errorOf(wrap('<fingerprint pattern="a"><example>&#xD800;</example></fingerprint>')).message).toMatch(/bad character reference/);
    // A DOCTYPE without an internal subset declares nothing and is ignored.
    const plain = `<?xml version="1.0"?><!DOCTYPE fingerprints SYSTEM "http://192.0.2.1/x.dtd">${wrap('<fingerprint pattern="^a$"/>').replace('<?xml version="1.0"?>', '')}`;
    expect(parseRecogXml(plain, 'p.xml').fingerprints).toHaveLength(1);
  });
  it('rejects malformed XML with its line, a wrong root, and an empty database', () => {
    expect(errorOf('<?xml version="1.0"?>\n<fingerprints>\n<fingerprint pattern="x">\n</fingerprints>').message).toMatch(/malformed XML at line 4/);
    expect(errorOf('<?xml version="1.0"?><nmaprun/>').message).toMatch(/root element must be <fingerprints>/);
    expect(errorOf(wrap('')).message).toMatch(/no <fingerprint> elements/);
  });
  it('handles garbage and a huge document without crashing', () => {
    expect(errorOf('<fingerprints \u0000\u0001\u00ff<<>>').code).toBe('E_SIGNATURES');
    const huge = wrap(`<fingerprint pattern="^a$"><description>${'x'.repeat(1 << 20)}</description></fingerprint>`);
    expect(parseRecogXml(huge, 'h.xml').fingerprints).toHaveLength(1);
    const hugeExample = wrap(`<fingerprint pattern="^(a+)$"><example service.version="a">${'a'.repeat(1 << 20)}</example><param pos="1" name="service.version"/></fingerprint>`);
    const failures = checkRecogExamples(parseRecogXml(hugeExample, 'h.xml'));
    // Examples are bounded like live replies (MAX_MATCH_BYTES), so the capture is cut too.
    expect(failures[0]?.message).toMatch(/service\.version is "a+"… \(8192 characters\)/);
  });
  it('ignores _filename examples and warns about unknown encodings', () => {
    const db = parseRecogXml(wrap('<fingerprint pattern="^a$"><example _filename="a.txt"/><example _encoding="rot13">n</example></fingerprint>'), 'x.xml');
    expect(db.fingerprints[0]?.examples).toEqual([]);
    expect(db.warnings.join()).toMatch(/encoding "rot13" not supported/);
  });
});

describe('helpers', () => {
  it('converts CPE 2.2 URIs and keeps 2.3 names', () => {
    expect(cpeTemplateTo23('cpe:/a:openbsd:openssh:{service.version}', (n) => (n === 'service.version' ? '$1' : undefined))).toBe('cpe:2.3:a:openbsd:openssh:$1:*:*:*:*:*:*:*');
    expect(cpeTemplateTo23('cpe:/a:x:y:-')).toBe('cpe:2.3:a:x:y:-:*:*:*:*:*:*:*');
    expect(cpeTemplateTo23('cpe:/o:microsoft:windows_server_2012:r2')).toBe('cpe:2.3:o:microsoft:windows_server_2012:r2:*:*:*:*:*:*:*');
    expect(cpeTemplateTo23('cpe:/a:x:y:{missing}')).toBe('cpe:2.3:a:x:y:*:*:*:*:*:*:*:*');
    expect(cpeTemplateTo23('cpe:/a:x:y:{v}', () => '2.0')).toBe('cpe:2.3:a:x:y:2.0:*:*:*:*:*:*:*');
    expect(cpeTemplateTo23('cpe:/a:x%21:y:$1sp${n}')).toBe('cpe:2.3:a:x\\!:y:$1sp${n}:*:*:*:*:*:*:*');
    expect(cpeTemplateTo23('cpe:2.3:a:x:y:$1:*:*:*:*:*:*:*')).toBe('cpe:2.3:a:x:y:$1:*:*:*:*:*:*:*');
    for (const bad of ['openssh', 'cpe:/a', 'cpe:/a:x', 'cpe:2.3:a:x:y', 'cpe:/z:x:y', 'cpe:2.3:q:x:y:1:*:*:*:*:*:*:*']) expect(cpeTemplateTo23(bad), bad).toBeUndefined();
  });
  it('decodes only predefined entities and character references', () => {
    expect(decodeXmlText('a&lt;b&gt;c&amp;d&quot;e&apos;f&#65;&#x42;')).toBe('a<b>c&d"e\'fAB');
    expect(decodeXmlText('AT&T no entity')).toBe('AT&T no entity');
    expect(() => decodeXmlText('&nbsp;')).toThrow(/undefined entity/);
    expect(() => decodeXmlText('&#xD800;')).toThrow(/character reference/);
  });
});
