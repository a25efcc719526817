import { describe, expect, it } from 'vitest';
import { ScriptedSession, type Script } from '../scripted-session.js';
import type { Identification, Target, TlsInfo } from '../types.js';
import { detector, identifyXmpp, parseXmppReply, streamHeader, xmlAttr, xmppReplyComplete } from './xmpp.js';

const timing = { replyMs: 1000, settleMs: 100 };
const client: Target = { address: '127.0.0.1', port: 5222 };
const TLS: TlsInfo = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };

const PROSODY =
  "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en' id='2b5e0a3c-7f4d-4a51-9a8e-5e6f7a8b9c0d' from='chat.example.org' version='1.0' xmlns='jabber:client'>" +
  "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>";
const EJABBERD =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='11349875823659347205' from='example.net' version='1.0' xml:lang='en'>" +
  "<stream:features><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://www.process-one.net/en/ejabberd/' ver='dGhpcyBpcyBub3QgYSBoYXNo'/>" +
  "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>" +
  "<register xmlns='http://jabber.org/features/iq-register'/></stream:features>";
const S2S =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='example.org' version='1.0'>" +
  "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>";
const OPENFIRE =
  '<?xml version=\'1.0\' encoding=\'UTF-8\'?><stream:stream xmlns:stream="http://etherx.jabber.org/streams" xmlns="jabber:client" from="im.example.com" id="8x6yzq1n2b" xml:lang="en" version="1.0">' +
  '<stream:features><starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"></starttls><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>SCRAM-SHA-1</mechanism></mechanisms>' +
  '<c hash="sha-1" xmlns="http://jabber.org/protocol/caps" ver="abc=" node="http://www.igniterealtime.org/projects/openfire/"/></stream:features>';

async function probe(script: Script, t: Target = client): Promise<{ id: Identification | undefined; session: ScriptedSession }> {
  const session = new ScriptedSession(script, t);
  const id = await detector.probe!({ session, timing, intensity: 7 });
  return { id, session };
}

describe('xmpp stream header', () => {
  it('opens a client stream to the target name, escaped', () => {
    expect(streamHeader({ address: '127.0.0.1', port: 5222, hostname: 'chat.example.org' })).toBe(
      "<?xml version='1.0'?><stream:stream to='chat.example.org' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
    );
    expect(streamHeader({ address: '::1', port: 5222 })).toContain("to='::1'");
    expect(streamHeader({ address: '127.0.0.1', port: 5269 })).toContain("xmlns='jabber:server' xmlns:db='jabber:server:dialback'");
    expect(xmlAttr(`a'b"<c>&`)).toBe('a&#39;b&#34;&#60;c&#62;&#38;');
  });
});

describe('xmpp reply parsing', () => {
  it('reads Prosody-style features with required STARTTLS', () => {
    const r = parseXmppReply(Buffer.from(PROSODY))!;
    expect(r).toMatchObject({ server: false, starttls: true, starttlsRequired: true, mechanisms: [] });
    const id = identifyXmpp(r, client);
    expect(id).toMatchObject({ service: 'xmpp-client', hostname: 'chat.example.org', startTls: true, confidence: 7 });
    expect(id.fields!['xmpp.starttls']).toBe('required');
  });

  it('names ejabberd and Openfire from the caps node', () => {
    expect(identifyXmpp(parseXmppReply(Buffer.from(EJABBERD))!, client)).toMatchObject({
      product: 'ejabberd',
      hostname: 'example.net',
      cpe: ['cpe:2.3:a:process-one:ejabberd:*:*:*:*:*:*:*:*'],
      fields: { 'xmpp.sasl': 'PLAIN SCRAM-SHA-1' },
    });
    expect(identifyXmpp(parseXmppReply(Buffer.from(OPENFIRE))!, client)).toMatchObject({ product: 'Openfire', hostname: 'im.example.com', startTls: true });
  });

  it('tells server-to-server streams apart', () => {
    expect(identifyXmpp(parseXmppReply(Buffer.from(S2S))!, { address: '127.0.0.1', port: 5269 })).toMatchObject({ service: 'xmpp-server', hostname: 'example.org', startTls: true });
    const bare = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>";
    expect(identifyXmpp(parseXmppReply(Buffer.from(bare))!, { address: '127.0.0.1', port: 5269 })).toMatchObject({ service: 'xmpp-server', fields: { 'xmpp.error': 'host-unknown' } });
    expect(identifyXmpp(parseXmppReply(Buffer.from(bare))!, client).service).toBe('xmpp-client');
  });

  it('never expands entities and rejects non-XMPP input', () => {
    const bomb = `<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a "${'A'.repeat(100)}"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><stream:stream xmlns:stream='${'http://etherx.jabber.org/streams'}' from='&b;'>`;
    const r = parseXmppReply(Buffer.from(bomb))!;
    expect(r.attrs.from).toBe('&b;');
    expect(identifyXmpp(r, client).hostname).toBeUndefined();
    for (const s of ['', 'HTTP/1.1 400 Bad Request\r\n\r\n', '<html><body>stream</body></html>', "<stream:stream xmlns:stream='urn:other'>", '<stream:stream']) {
      expect(parseXmppReply(Buffer.from(s))).toBeUndefined();
    }
    expect(parseXmppReply(Buffer.alloc(1 << 20, 0x3c))).toBeUndefined();
    expect(parseXmppReply(Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 53 + 1) & 0xff)))).toBeUndefined();
  });

  it('bounds hostile feature lists and strips control characters', () => {
    const mechs = `<stream:stream xmlns:stream='http://etherx.jabber.org/streams' from='\x1b[31mx'><stream:features><mechanisms>${'<mechanism>X</mechanism>'.repeat(10000)}</mechanisms></stream:features>`;
    const r = parseXmppReply(Buffer.from(mechs))!;
    expect(r.mechanisms.length).toBeLessThanOrEqual(32);
    expect(identifyXmpp(r, client).hostname).toBeUndefined();
    const longTag = `<stream:stream ${"a='b' ".repeat(200000)}xmlns:stream='http://etherx.jabber.org/streams'>`;
    expect(parseXmppReply(Buffer.from(longTag))).toBeUndefined();
  });

  it('knows when a reply is whole or not XMPP', () => {
    expect(xmppReplyComplete(Buffer.from(PROSODY))).toBe(true);
    expect(xmppReplyComplete(Buffer.from(PROSODY.slice(0, 200)))).toBe(false);
    expect(xmppReplyComplete(Buffer.from('SSH-2.0-x\r\n'))).toBe(true);
    expect(xmppReplyComplete(Buffer.from('<html><head><title>400 Bad Request</title></head>'))).toBe(true);
    expect(xmppReplyComplete(Buffer.alloc(0))).toBe(false);
    expect(xmppReplyComplete(Buffer.from('<stream:stream/><stream:features/>'))).toBe(true);
  });
});

describe('xmpp probe and follow-up', () => {
  it('probes, reports cleartext SASL PLAIN, and upgrades with STARTTLS', async () => {
    const { id, session } = await probe({
      reply: (s) => {
        const t = s.toString();
        if (t.startsWith('<?xml')) return EJABBERD;
        if (t.startsWith('<starttls')) return "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
        return undefined;
      },
      tls: TLS,
    });
    expect(session.sent.toString()).toBe(streamHeader(client));
    expect(id).toMatchObject({ service: 'xmpp-client', product: 'ejabberd', startTls: true });
    expect(id!.evidence).toEqual([{ id: 'xmpp-plaintext-auth', detail: 'XMPP offers PLAIN authentication before TLS' }]);
    const after = await detector.followUp!({ session, timing, intensity: 7, previous: id! });
    expect(after.tls).toEqual(TLS);
    expect(session.sent.toString()).toContain("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  });

  it('closes the stream without STARTTLS inside TLS, and on failure', async () => {
    const tlsSession = await probe({ reply: () => PROSODY, tls: TLS }, { address: '127.0.0.1', port: 5223, tunnel: 'ssl' });
    const a = await detector.followUp!({ session: tlsSession.session, timing, intensity: 7, previous: tlsSession.id! });
    expect(a.tls).toBeUndefined();
    expect(tlsSession.session.sent.toString()).toMatch(/<\/stream:stream>$/);
    const failing = await probe({ reply: (s) => (s.toString().startsWith('<?xml') ? PROSODY : "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>"), tls: TLS });
    const b = await detector.followUp!({ session: failing.session, timing, intensity: 7, previous: failing.id! });
    expect(b.tls).toBeUndefined();
  });

  it('returns undefined for other servers and survives garbage and silence', async () => {
    expect((await probe({ reply: () => 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n' })).id).toBeUndefined();
    expect((await probe({ reply: () => undefined })).id).toBeUndefined();
    expect((await probe({ reply: () => 'close' })).id).toBeUndefined();
    expect((await probe({ reply: () => Buffer.alloc(70000, 0xff) })).id).toBeUndefined();
  });

  it('greeting recognises a stream sent in answer to another probe', () => {
    expect(detector.greeting!(Buffer.from(PROSODY), client)).toMatchObject({ service: 'xmpp-client' });
    expect(detector.greeting!(Buffer.from('* OK IMAP ready\r\n'), client)).toBeUndefined();
  });
});
