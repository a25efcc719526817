import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ScriptedSession, type Script } from '../scripted-session.js';
import type { Identification, ProbeContext, TlsInfo } from '../types.js';
import { children, decodeTree, encodeInteger, encodeString, encodeTlv, readTlv } from './ber.js';
import {
  detector, domainFromDn, identifyLdap, ldapGreeting, parseLdapMessages, readLdapMessage, ROOT_DSE_ATTRIBUTES, rootDseRequest, searchComplete,
  STARTTLS_OID, startTlsRequest,
} from './ldap.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const timing = { replyMs: 1000, settleMs: 50 };

/** AD writes every length in the four-octet long form; the reader must take both. */
function tlv84(id: number, ...content: Buffer[]): Buffer {
  const v = Buffer.concat(content);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(v.length);
  return Buffer.concat([Buffer.from([id, 0x84]), len, v]);
}

type Attrs = [string, string[]][];
function entry(id: number, attrs: Attrs, dn = '', enc = encodeTlv): Buffer {
  const list = attrs.map(([t, vs]) => enc(0x30, encodeString(t), enc(0x31, ...vs.map((v) => encodeString(Buffer.from(v, 'latin1'))))));
  return enc(0x30, encodeInteger(id), enc(0x64, encodeString(dn), enc(0x30, ...list)));
}
function done(id: number, code = 0, diag = '', enc = encodeTlv): Buffer {
  return enc(0x30, encodeInteger(id), enc(0x65, encodeInteger(code, 0x0a), encodeString(''), encodeString(diag)));
}
function extended(id: number, code: number, name?: string): Buffer {
  const parts = [encodeInteger(code, 0x0a), encodeString(''), encodeString('')];
  if (name) parts.push(encodeString(name, 0x8a));
  return encodeTlv(0x30, encodeInteger(id), encodeTlv(0x78, ...parts));
}

/** Answer the root DSE search (message 1) with `reply`, StartTLS (message 2) with `tls`. */
function server(reply: Buffer | string | undefined, tlsReply?: Buffer, extra: Partial<Script> = {}): Script {
  return {
    reply: (sent) => {
      const m = readLdapMessage(sent);
      if (m.kind !== 'ok') return 'close';
      if (m.message.op === 3) return reply;
      if (m.message.op === 23) return tlsReply;
      return undefined;
    },
    ...extra,
  };
}

async function run(script: Script, tunnel?: 'ssl'): Promise<{ id: Identification | undefined; session: ScriptedSession }> {
  const session = new ScriptedSession(script, { port: 389, ...(tunnel ? { tunnel } : {}) });
  const ctx: ProbeContext = { session, timing, intensity: 7 };
  return { id: await detector.probe!(ctx), session };
}

const OPENLDAP: Attrs = [
  ['objectClass', ['top', 'OpenLDAProotDSE']],
  ['namingContexts', ['dc=example,dc=com']],
  ['supportedControl', ['2.16.840.1.113730.3.4.18', '1.3.6.1.4.1.4203.666.5.12']],
  ['supportedExtension', [STARTTLS_OID, '1.3.6.1.4.1.4203.1.11.1', '1.3.6.1.4.1.4203.1.11.3']],
  ['supportedLDAPVersion', ['3']],
];

const AD: Attrs = [
  ['defaultNamingContext', ['DC=corp,DC=example,DC=com']],
  ['namingContexts', ['DC=corp,DC=example,DC=com', 'CN=Configuration,DC=corp,DC=example,DC=com', 'CN=Schema,CN=Configuration,DC=corp,DC=example,DC=com']],
  ['serverName', ['CN=DC01,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=corp,DC=example,DC=com']],
  ['supportedCapabilities', ['1.2.840.113556.1.4.800', '1.2.840.113556.1.4.1670', '1.2.840.113556.1.4.1791', '1.2.840.113556.1.4.1935', '1.2.840.113556.1.4.2080', '1.2.840.113556.1.4.2237']],
  ['supportedExtension', ['1.3.6.1.4.1.1466.20037', '1.3.6.1.4.1.1466.101.119.1', '1.2.840.113556.1.4.1781']],
  ['dnsHostName', ['dc01.corp.example.com']],
  ['isGlobalCatalogReady', ['TRUE']],
  ['domainControllerFunctionality', ['7']],
  ['forestFunctionality', ['7']],
];

describe('root DSE request', () => {
  it('is an anonymous base search of "" for (objectClass=*) naming the attributes', () => {
    const req = rootDseRequest(1);
    expect(req[0]).toBe(0x30);
    const tree = decodeTree(req);
    expect(tree.kind).toBe('ok');
    if (tree.kind !== 'ok') return;
    const [id, op] = tree.node.children!;
    expect(req.subarray(id!.start, id!.end)).toEqual(hex('01'));
    expect(op).toMatchObject({ cls: 1, tag: 3, constructed: true });
    // base "", scope base, neverDerefAliases, sizeLimit 0, timeLimit 0, typesOnly FALSE, present filter.
    expect(req.subarray(op!.start, op!.start + 30)).toEqual(hex('0400 0a0100 0a0100 020100 020100 010100 870b 6f626a656374436c617373'));
    const attrs = op!.children![7]!;
    const names = attrs.children!.map((c) => req.subarray(c.start, c.end).toString());
    expect(names).toEqual([...ROOT_DSE_ATTRIBUTES]);
    for (const a of ['namingContexts', 'supportedLDAPVersion', 'vendorName', 'vendorVersion', 'supportedCapabilities', 'supportedExtension', 'dnsHostName', 'defaultNamingContext', 'forestFunctionality', 'isGlobalCatalogReady']) {
      expect(names).toContain(a);
    }
  });

  it('builds the StartTLS extended request', () => {
    expect(startTlsRequest(2)).toEqual(Buffer.concat([hex('301d 020102 7718 8016'), Buffer.from(STARTTLS_OID)]));
  });
});

describe('parsing replies', () => {
  it('reads an OpenLDAP-style root DSE byte for byte', () => {
    // SearchResultEntry: dn "", objectClass {top, OpenLDAProotDSE}, namingContexts {dc=example,dc=com}; then success.
    const bytes = hex(
      '3057 020101 6452 0400 304e' +
        '3025 040b 6f626a656374436c617373 3116 0403 746f70 040f 4f70656e4c444150726f6f74445345' +
        '3025 040e 6e616d696e67436f6e7465787473 3113 0411 64633d6578616d706c652c64633d636f6d' +
        '300c 020101 6507 0a0100 0400 0400',
    );
    expect(searchComplete(bytes)).toBe(true);
    const { messages, end } = parseLdapMessages(bytes);
    expect(end).toBe('complete');
    expect(messages).toHaveLength(2);
    expect(messages[0]!.entry!.attributes.get('objectclass')).toEqual(['top', 'OpenLDAProotDSE']);
    expect(messages[0]!.entry!.attributes.get('namingcontexts')).toEqual(['dc=example,dc=com']);
    expect(messages[1]!.result).toEqual({ code: 0, matchedDN: '', diagnostic: '' });
    const id = identifyLdap(messages)!;
    expect(id).toMatchObject({ service: 'ldap', product: 'OpenLDAP', cpe: ['cpe:2.3:a:openldap:openldap:*:*:*:*:*:*:*:*'] });
    expect(id.evidence).toEqual([{ id: 'ldap-anonymous-rootdse', detail: 'root DSE readable without authentication; naming contexts: dc=example,dc=com' }]);
  });

  it('waits for the SearchResultDone, and stops on garbage', () => {
    const e = entry(1, OPENLDAP);
    expect(searchComplete(e)).toBe(false);
    expect(searchComplete(e.subarray(0, 10))).toBe(false);
    expect(searchComplete(Buffer.concat([e, done(1)]))).toBe(true);
    expect(searchComplete(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))).toBe(true);
    expect(searchComplete(hex('3080'))).toBe(true);
    expect(searchComplete(Buffer.alloc(0))).toBe(false);
  });

  it('accepts AD four-octet lengths', () => {
    const bytes = Buffer.concat([entry(1, AD, '', tlv84), done(1, 0, '', tlv84)]);
    const { messages, end } = parseLdapMessages(bytes);
    expect(end).toBe('complete');
    expect(identifyLdap(messages)).toMatchObject({ product: 'Microsoft Windows Active Directory LDAP' });
  });

  it('derives AD domain names', () => {
    expect(domainFromDn('DC=corp,DC=example,DC=com')).toBe('corp.example.com');
    expect(domainFromDn('dc=example, dc=org')).toBe('example.org');
    expect(domainFromDn('o=acme')).toBeUndefined();
  });
});

describe('identification', () => {
  it('OpenLDAP with StartTLS', async () => {
    const { id, session } = await run(server(Buffer.concat([entry(1, OPENLDAP), done(1)])));
    expect(session.sent).toEqual(rootDseRequest(1));
    expect(id).toMatchObject({ service: 'ldap', product: 'OpenLDAP', startTls: true, confidence: 8 });
    expect(id!.fields!['ldap.naming_contexts']).toBe('dc=example,dc=com');
  });

  it('Active Directory: domain, site, functional level, hostname', async () => {
    const { id } = await run(server(Buffer.concat([entry(1, AD), done(1)])));
    expect(id).toMatchObject({
      service: 'ldap',
      product: 'Microsoft Windows Active Directory LDAP',
      extrainfo: 'Domain: corp.example.com, Site: Default-First-Site-Name, DC functional level: Windows Server 2016',
      hostname: 'dc01.corp.example.com',
      ostype: 'Windows',
      cpe: ['cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*'],
      startTls: true,
    });
    expect(id!.evidence![0]!.detail).toContain('DC=corp,DC=example,DC=com, CN=Configuration');
  });

  it('AD LDS (ADAM capability without the DC capability)', () => {
    const id = identifyLdap(parseLdapMessages(entry(1, [['supportedCapabilities', ['1.2.840.113556.1.4.1851']]])).messages);
    expect(id?.product).toBe('Microsoft Active Directory Lightweight Directory Services');
  });

  it.each([
    [[['vendorName', ['389 Project']], ['vendorVersion', ['389-Directory/2.3.4 B2023.100.1234']]], '389 Directory Server', '2.3.4', 'cpe:2.3:a:port389:389-ds-base:2.3.4:*:*:*:*:*:*:*'],
    [[['vendorName', ['Red Hat, Inc.']], ['vendorVersion', ['Red Hat-Directory/11.5.1 B2022.123.0000']]], 'Red Hat Directory Server', '11.5.1', 'cpe:2.3:a:redhat:directory_server:11.5.1:*:*:*:*:*:*:*'],
    [[['vendorName', ['Apache Software Foundation']], ['vendorVersion', ['2.0.0.AM26']]], 'ApacheDS', '2.0.0.AM26', 'cpe:2.3:a:apache:apacheds:2.0.0.am26:*:*:*:*:*:*:*'],
    [[['vendorName', ['ForgeRock AS.']], ['vendorVersion', ['OpenDJ 3.0.0']]], 'OpenDJ', '3.0.0', 'cpe:2.3:a:forgerock:opendj:3.0.0:*:*:*:*:*:*:*'],
    [[['vendorName', ['NetIQ Corporation']], ['vendorVersion', ['LDAP Agent for NetIQ eDirectory 9.1.4 (40105.03)']]], 'NetIQ eDirectory', '9.1.4', undefined],
    [[['vendorName', ['Acme']], ['vendorVersion', ['Acme Directory/7.1.2']]], 'Acme Directory', '7.1.2', undefined],
  ] as [Attrs, string, string, string | undefined][])('vendor attributes name %#', (attrs, product, version, cpe) => {
    const id = identifyLdap(parseLdapMessages(Buffer.concat([entry(1, attrs), done(1)])).messages)!;
    expect(id.product).toBe(product);
    expect(id.version).toBe(version);
    if (cpe) expect(id.cpe).toEqual([cpe]);
  });

  it('an unknown server is still ldap, with its vendor noted', () => {
    const id = identifyLdap(parseLdapMessages(entry(1, [['vendorName', ['Mystery Corp']], ['namingContexts', ['o=x']]])).messages)!;
    expect(id).toMatchObject({ service: 'ldap', confidence: 7, extrainfo: 'vendor: Mystery Corp' });
    expect(id.product).toBeUndefined();
  });

  it('does not offer StartTLS inside TLS (636)', async () => {
    const { id } = await run(server(Buffer.concat([entry(1, OPENLDAP), done(1)])), 'ssl');
    expect(id?.startTls).toBeUndefined();
    expect(id?.product).toBe('OpenLDAP');
  });

  it('a refused search, a BindResponse error, a notice of disconnection are all ldap', async () => {
    expect((await run(server(done(1, 50, 'anonymous access denied')))).id).toMatchObject({ service: 'ldap', extrainfo: 'root DSE search refused (result 50)' });
    const bind = encodeTlv(0x30, encodeInteger(1), encodeTlv(0x61, encodeInteger(2, 0x0a), encodeString(''), encodeString('protocol error')));
    expect((await run(server(bind))).id).toMatchObject({ service: 'ldap' });
    const notice = extended(0, 52, '1.3.6.1.4.1.1466.20036');
    expect((await run(server(notice))).id).toMatchObject({ service: 'ldap' });
    expect(ldapGreeting(notice)).toEqual({ service: 'ldap', confidence: 6 });
    expect(readLdapMessage(notice)).toMatchObject({ kind: 'ok', message: { id: 0, op: 24, result: { code: 52, responseName: '1.3.6.1.4.1.1466.20036' } } });
  });

  it('a notice of disconnection sent unprompted answers the probe without a request', async () => {
    const session = new ScriptedSession({ greeting: extended(0, 52, '1.3.6.1.4.1.1466.20036'), closeAfterGreeting: true }, { port: 389 });
    await session.read(10); // the runner's greeting wait
    expect(await detector.probe!({ session, timing, intensity: 7 })).toMatchObject({ service: 'ldap' });
    expect(session.sentBytes).toBe(0);
    const other = new ScriptedSession({ greeting: 'SSH-2.0-x\r\n' }, { port: 389 });
    await other.read(10);
    expect(await detector.probe!({ session: other, timing, intensity: 7 })).toBeUndefined();
  });

  it('greeting ignores other protocols', () => {
    expect(ldapGreeting(Buffer.from('SSH-2.0-OpenSSH_9.2p1\r\n'))).toBeUndefined();
    expect(ldapGreeting(hex('160301002a'))).toBeUndefined();
    expect(ldapGreeting(rootDseRequest(1))).toBeUndefined(); // a request is not a server reply
    expect(ldapGreeting(hex('3003020101'))).toBeUndefined();
  });
});

describe('StartTLS follow-up', () => {
  const tls: TlsInfo = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };
  const previous: Identification = { service: 'ldap', product: 'OpenLDAP', confidence: 8, startTls: true };

  it('upgrades after a successful ExtendedResponse', async () => {
    const session = new ScriptedSession({ ...server(undefined, extended(2, 0, STARTTLS_OID)), tls }, { port: 389 });
    const id = await detector.followUp!({ session, timing, intensity: 7, previous });
    expect(session.sent).toEqual(startTlsRequest(2));
    expect(id).toEqual({ ...previous, tls });
  });

  it('leaves the identification alone on refusal, silence, garbage or no offer', async () => {
    for (const reply of [extended(2, 2), undefined, Buffer.from('garbage'), hex('3084ffffffff')]) {
      const session = new ScriptedSession({ ...server(undefined, reply), tls }, { port: 389 });
      expect(await detector.followUp!({ session, timing, intensity: 7, previous })).toBe(previous);
    }
    const session = new ScriptedSession(server(undefined), { port: 389 });
    const noOffer = { ...previous, startTls: undefined };
    expect(await detector.followUp!({ session, timing, intensity: 7, previous: noOffer })).toBe(noOffer);
    expect(session.sentBytes).toBe(0);
  });
});

describe('hostile replies', () => {
  it('empty, silent, closed', async () => {
    expect((await run(server(undefined))).id).toBeUndefined();
    expect((await run(server('close'))).id).toBeUndefined();
    expect((await run(server(Buffer.alloc(0)))).id).toBeUndefined();
  });

  it('an echo of the request is not LDAP', async () => {
    const echo: Script = { reply: (sent) => sent };
    expect((await run(echo)).id).toBeUndefined();
    const empty = identifyLdap(parseLdapMessages(Buffer.concat([entry(1, []), done(1)])).messages)!;
    expect(empty.service).toBe('ldap');
    expect(empty.evidence).toBeUndefined();
  });

  it('garbage and other protocols', async () => {
    expect((await run(server('HTTP/1.1 400 Bad Request\r\n\r\n'))).id).toBeUndefined();
    expect((await run(server(randomBytes(4096)))).id).toBeUndefined();
    for (let i = 0; i < 300; i++) {
      const g = randomBytes(1 + (i % 300));
      g[0] = 0x30;
      expect(() => parseLdapMessages(g)).not.toThrow();
      expect(() => searchComplete(g)).not.toThrow();
    }
  });

  it('truncated at every length', () => {
    const whole = Buffer.concat([entry(1, AD), done(1)]);
    for (let n = 0; n < whole.length; n += 7) {
      expect(() => identifyLdap(parseLdapMessages(whole.subarray(0, n)).messages)).not.toThrow();
      expect(searchComplete(whole.subarray(0, n))).toBe(false);
    }
  });

  it('lying lengths and indefinite lengths', async () => {
    expect(readLdapMessage(hex('3084 7fffffff 020101'))).toMatchObject({ kind: 'invalid' });
    expect(readLdapMessage(hex('3080 020101 6500 0000'))).toMatchObject({ kind: 'invalid', reason: 'indefinite length' });
    // The inner op claims more than the message holds.
    expect(readLdapMessage(hex('3007 020101 6510 0a0100'))).toMatchObject({ kind: 'invalid' });
    expect(readLdapMessage(hex('3005 020101 6500'))).toMatchObject({ kind: 'invalid', reason: 'bad LDAPResult' });
    expect((await run(server(hex('3084 00100000 020101')))).id).toBeUndefined();
  });

  it('deep nesting inside an attribute value set', () => {
    let nested = encodeString('x');
    for (let i = 0; i < 2000; i++) nested = encodeTlv(0x30, nested);
    const msg = encodeTlv(0x30, encodeInteger(1), encodeTlv(0x64, encodeString(''), encodeTlv(0x30, encodeTlv(0x30, encodeString('namingContexts'), encodeTlv(0x31, nested)))));
    expect(() => parseLdapMessages(msg)).not.toThrow();
    const id = identifyLdap(parseLdapMessages(msg).messages);
    expect(id === undefined || id.service === 'ldap').toBe(true);
  });

  it('1 MiB reply: bounded, no throw', () => {
    const huge = entry(1, [['namingContexts', Array.from({ length: 200 }, (_, i) => `dc=${'a'.repeat(5000)}${i}`)]]);
    expect(huge.length).toBeGreaterThan(1_000_000);
    const { messages } = parseLdapMessages(huge);
    const id = identifyLdap(messages)!;
    expect(id.evidence![0]!.detail.length).toBeLessThanOrEqual(600);
    expect(id.fields!['ldap.naming_contexts']!.length).toBeLessThan(4000);
    const flood = Buffer.concat(Array.from({ length: 100 }, () => entry(1, [['a', ['b']]])));
    expect(searchComplete(flood)).toBe(true);
    expect(parseLdapMessages(flood).messages.length).toBeLessThanOrEqual(64);
  });

  it('control characters and ANSI escapes are escaped or stripped', () => {
    const evil = 'dc=\x1b[31mred\x1b[0m,dc=x\r\nInjected: yes';
    const id = identifyLdap(parseLdapMessages(entry(1, [['namingContexts', [evil]], ['vendorVersion', ['Evil\x07Dir/1.0\x1b[2J']], ['dnsHostName', ['bad\nhost']]])).messages)!;
    const controls = (t: string): boolean => [...t].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
    expect(controls(id.evidence![0]!.detail)).toBe(false);
    expect(id.evidence![0]!.detail).toContain('\\x1b[31m');
    expect(JSON.stringify(id.fields)).not.toMatch(/\\u00(?:0|1)[0-9a-f]/);
    expect(controls(id.product ?? '')).toBe(false);
    expect(id.hostname).toBeUndefined();
  });

  it('request encodings stay decodable', () => {
    const r = readTlv(rootDseRequest(7), 0);
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') expect(children(rootDseRequest(7), r.tlv)).toHaveLength(2);
  });
});
