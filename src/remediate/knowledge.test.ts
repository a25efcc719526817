import { describe, expect, it } from 'vitest';
import { shellcheck } from '../../test/helpers/shellcheck.js';
import { HOSTILE } from '../../test/helpers/hostile-strings.js';
import { SERVICE_KINDS } from '../assess/service-classes.js';
import { fillTemplate, GENERIC_KNOWLEDGE, KNOWLEDGE_IDS, knowledgeById, knowledgeFor, type TemplateValues } from './knowledge.js';
import { validateSystemdUnit } from './service/systemd.js';

const KIND_IDS = new Set(SERVICE_KINDS.map((k) => k.id));
const ENTRIES = KNOWLEDGE_IDS.map((id) => knowledgeById(id)!);
const V4: TemplateValues = { host: '198.18.0.5', url: '198.18.0.5', port: 6379, protocol: 'tcp', scheme: 'http' };
const V6: TemplateValues = { host: '2001:db8::5', url: '[2001:db8::5]', port: 161, protocol: 'udp', scheme: 'https' };

describe('knowledge table', () => {
  it('covers the services the plans must know, each under a real service-kind id', () => {
    for (const id of ['ssh', 'telnet', 'rdp', 'vnc', 'ftp', 'smb', 'postgresql', 'mysql', 'mssql', 'oracle', 'mongodb', 'redis', 'memcached', 'elasticsearch', 'amqp', 'mqtt', 'nats', 'kafka', 'docker-api', 'kubernetes-api', 'kubelet', 'etcd', 'jenkins', 'smtp', 'imap', 'pop3', 'snmp', 'ldap', 'nfs', 'rsync', 'tftp']) {
      expect(knowledgeById(id), id).toBeDefined();
    }
    for (const id of KNOWLEDGE_IDS) expect(KIND_IDS.has(id.split(':')[0]!), id).toBe(true);
  });

  it.each(ENTRIES.map((k) => [k.id, k] as const))('%s: complete, official https links, valid unit and package names, known placeholders', (_id, k) => {
    expect(k.label.length).toBeGreaterThan(2);
    for (const field of [k.gains, k.attack, k.cause, k.clients]) expect(field.length).toBeGreaterThan(20);
    for (const d of k.docs) expect(d.url).toMatch(/^https:\/\/[a-z0-9.-]+\.[a-z]{2,}\//);
    if (k.debian?.unit !== undefined) expect(() => validateSystemdUnit(k.debian!.unit)).not.toThrow();
    if (k.debian?.package !== undefined) expect(k.debian.package).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
    if (k.windowsService !== undefined) expect(k.windowsService).toMatch(/^[A-Za-z0-9_]+$/);
    for (const t of [k.probe, k.who].filter((x): x is string => x !== undefined)) {
      for (const m of t.matchAll(/\{([a-z]+)\}/g)) expect(['host', 'url', 'port', 'scheme', 'agent']).toContain(m[1]);
      expect(t).not.toMatch(/[<>]\s*\w+>/); // no <placeholder> that a shell would read as a redirection
    }
    for (const l of k.logs) expect(l.unit !== undefined || l.file !== undefined || l.look.length > 0).toBe(true);
  });

  it('every client command, filled for IPv4 and IPv6, is valid shell', () => {
    const lines = ENTRIES.flatMap((k) => [k.probe, k.who].filter((x): x is string => x !== undefined)).flatMap((t) => [fillTemplate(t, V4), fillTemplate(t, V6)]);
    const r = shellcheck(`#!/usr/bin/env bash\n${lines.join('\n')}\n`);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('fillTemplate', () => {
  it('fills only the known placeholders, with URL brackets and net-snmp agents per family', () => {
    expect(fillTemplate('curl -s "{scheme}://{url}:{port}/" -w "%{http_code}" {other}', V6)).toBe('curl -s "https://[2001:db8::5]:161/" -w "%{http_code}" {other}');
    expect(fillTemplate('snmpget {agent}', V6)).toBe('snmpget udp6:[2001:db8::5]:161');
    expect(fillTemplate('snmpget {agent}', V4)).toBe('snmpget tcp:198.18.0.5:6379');
    expect(fillTemplate('redis-cli -h {host} -p {port} PING', V4)).toBe('redis-cli -h 198.18.0.5 -p 6379 PING');
  });
});

describe('knowledgeFor', () => {
  it('finds entries by name, by product behind a generic name, and by product variant', () => {
    expect(knowledgeFor({ name: 'redis' }, 6379, 'tcp').knowledge.id).toBe('redis');
    expect(knowledgeFor({ name: 'postgres' }, 5433, 'tcp').knowledge.id).toBe('postgresql');
    expect(knowledgeFor({ name: 'http', product: 'Jetty (Jenkins)' }, 8080, 'tcp').knowledge.id).toBe('jenkins');
    expect(knowledgeFor({ name: 'ftp', product: 'ProFTPD' }, 21, 'tcp').knowledge.id).toBe('ftp:proftpd');
    expect(knowledgeFor({ name: 'ftp', product: 'vsftpd' }, 21, 'tcp').knowledge.id).toBe('ftp');
    expect(knowledgeFor({ name: 'smtp', product: 'Exim smtpd' }, 25, 'tcp').knowledge.id).toBe('smtp:exim');
    expect(knowledgeFor({ name: 'ms-wbt-server' }, 3389, 'tcp').knowledge.windowsService).toBe('TermService');
  });

  it('kinds without an entry of their own get their label and class; unknown services get the generic entry', () => {
    const portainer = knowledgeFor({ name: 'http', product: 'Portainer' }, 9000, 'tcp');
    expect(portainer.known).toBe(true);
    expect(portainer.knowledge.label).toBe('Portainer');
    expect(portainer.knowledge.id).toBe('class:admin-panel');
    expect(portainer.knowledge.probe).toBe('curl -skI --max-time 5 "{scheme}://{url}:{port}/"');
    expect(knowledgeFor({ name: 'unknown' }, 31337, 'tcp')).toMatchObject({ knowledge: GENERIC_KNOWLEDGE, known: false });
    expect(knowledgeFor(undefined, 31337, 'tcp').knowledge).toBe(GENERIC_KNOWLEDGE);
  });

  it('hostile names and products select an entry or the fallback, and nothing of them is copied', () => {
    for (const h of HOSTILE) {
      const m = knowledgeFor({ name: `redis${h}`, product: `Redis ${h}` }, 6379, 'tcp');
      const serialised = JSON.stringify(m.knowledge);
      if (h.length > 3) expect(serialised).not.toContain(h);
      expect(['redis', 'generic']).toContain(m.knowledge.id);
    }
    // Not strings at all: nothing to classify by, so the generic entry.
    expect(knowledgeFor({ name: 42 as unknown as string, product: {} as unknown as string }, 22, 'tcp').knowledge.id).toBe('generic');
  });
});
