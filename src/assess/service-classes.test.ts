import { describe, expect, it } from 'vitest';
import type { PortResult } from '../core/model.js';
import {
  SERVICE_CLASSES,
  SERVICE_KINDS,
  classifyService,
  normalizeServiceName,
  portSurprise,
  serviceFacts,
  type ServiceClassId,
  type ServiceShape,
} from './service-classes.js';

const svc = (name: string, port: number, extra: Partial<ServiceShape> = {}): ServiceShape => ({ name, port, protocol: 'tcp', method: 'probed', ...extra });

describe('the service table', () => {
  it('is well formed', () => {
    const ids = new Set<string>();
    const names = new Set<string>();
    for (const k of SERVICE_KINDS) {
      expect(k.id).toMatch(/^[a-z0-9-]+$/);
      expect(ids.has(k.id), k.id).toBe(false);
      ids.add(k.id);
      expect(k.label.length).toBeGreaterThan(1);
      expect(k.ports.length, k.id).toBeGreaterThan(0);
      for (const p of [...k.ports, ...(k.tlsPorts ?? []), ...(k.hintPorts ?? [])]) expect(Number.isInteger(p) && p > 0 && p < 65536, `${k.id} ${p}`).toBe(true);
      for (const p of [...(k.tlsPorts ?? []), ...(k.hintPorts ?? [])]) expect(k.ports, `${k.id} ${p}`).toContain(p);
      for (const n of k.names ?? []) {
        // Every name is already in normal form, and no two kinds claim the same name.
        expect(normalizeServiceName(n).name, n).toBe(n);
        expect(names.has(n), n).toBe(false);
        names.add(n);
      }
      for (const n of k.tlsNames ?? []) expect(k.names, n).toContain(n);
      for (const c of k.classes) expect(Object.keys(SERVICE_CLASSES)).toContain(c);
      if (k.shell === true) expect(k.classes).toEqual(expect.arrayContaining(['remote-admin', 'cleartext']));
    }
    for (const c of Object.values(SERVICE_CLASSES)) {
      expect(c.title.length).toBeGreaterThan(3);
      expect(c.explanation.length).toBeGreaterThan(20);
    }
  });

  it('has every class the issue names, each with members', () => {
    for (const c of Object.keys(SERVICE_CLASSES) as ServiceClassId[]) expect(SERVICE_KINDS.some((k) => k.classes.includes(c)), c).toBe(true);
  });
});

describe('normalizeServiceName', () => {
  it.each([
    ['SSH', { name: 'ssh', ssl: false, uncertain: false }],
    ['ssl/http', { name: 'http', ssl: true, uncertain: false }],
    ['http?', { name: 'http', ssl: false, uncertain: true }],
    ['ssl/imap?', { name: 'imap', ssl: true, uncertain: true }],
    ['X11:1', { name: 'x11:1', ssl: false, uncertain: false }],
    ['  ms-wbt-server ', { name: 'ms-wbt-server', ssl: false, uncertain: false }],
    ['\u001b[31mssh', { name: '', ssl: false, uncertain: false }],
    ['../../etc/passwd', { name: '', ssl: false, uncertain: false }],
    ['ssh; rm -rf /', { name: '', ssl: false, uncertain: false }],
    ['a'.repeat(65), { name: '', ssl: false, uncertain: false }],
    ['a'.repeat(1_000_000), { name: '', ssl: false, uncertain: false }],
    ['', { name: '', ssl: false, uncertain: false }],
  ])('%j', (raw, want) => {
    expect(normalizeServiceName(raw)).toEqual(want);
  });

  it('turns wrong types into the unknown name', () => {
    for (const bad of [undefined, null, 22, {}, ['ssh']] as unknown[]) expect(normalizeServiceName(bad).name).toBe('');
  });
});

describe('classifyService', () => {
  const cases: [string, ServiceShape, string | undefined, ServiceClassId[], string?][] = [
    ['ssh', svc('ssh', 22, { product: 'OpenSSH' }), 'ssh', ['remote-admin'], 'name'],
    ['rdp', svc('ms-wbt-server', 3389), 'rdp', ['remote-admin']],
    ['vnc', svc('vnc', 5900), 'vnc', ['remote-admin']],
    ['telnet', svc('telnet', 23), 'telnet', ['remote-admin', 'cleartext']],
    ['rsh from the port table', svc('shell', 514, { method: 'table' }), 'rsh', ['remote-admin', 'cleartext']],
    ['winrm', svc('wsman', 5985), 'winrm', ['remote-admin']],
    ['x11 from the table', svc('X11', 6000, { method: 'table' }), 'x11', ['remote-admin']],
    ['ipmi over udp', { ...svc('asf-rmcp', 623), protocol: 'udp' }, 'ipmi', ['remote-admin']],
    ['mysql', svc('mysql', 3306, { product: 'MariaDB' }), 'mysql', ['database']],
    ['postgresql', svc('postgresql', 5432), 'postgresql', ['database']],
    ['mssql', svc('ms-sql-s', 1433), 'mssql', ['database']],
    ['oracle', svc('oracle-tns', 1521), 'oracle', ['database']],
    ['mongodb from the table', svc('mongod', 27017, { method: 'table' }), 'mongodb', ['database']],
    ['memcached from the table', svc('memcache', 11211, { method: 'table' }), 'memcached', ['database']],
    ['elasticsearch by product', svc('http', 9200, { product: 'Elasticsearch REST API' }), 'elasticsearch', ['database'], 'product'],
    ['elasticsearch by port', svc('http', 9200), 'elasticsearch', ['database'], 'port'],
    ['docker by product', svc('http', 2375, { product: 'Docker Engine API' }), 'docker-api', ['admin-panel'], 'product'],
    ['docker by port', svc('http', 2375), 'docker-api', ['admin-panel'], 'port'],
    ['a Docker registry is not the Engine API', svc('http', 5000, { product: 'Docker Registry' }), 'http', []],
    ['docker from the table', svc('docker', 2375, { method: 'table' }), 'docker-api', ['admin-panel'], 'name'],
    ['webmin from the table (nmap calls 10000 snet-sensor-mgmt)', svc('snet-sensor-mgmt', 10000, { method: 'table' }), 'webmin', ['admin-panel'], 'port'],
    ['kubelet', svc('https', 10250, { tls: true }), 'kubelet', ['admin-panel'], 'port'],
    ['etcd by product', svc('http', 2379, { product: 'etcd' }), 'etcd', ['admin-panel', 'database']],
    ['jenkins', svc('http', 8080, { product: 'Jenkins' }), 'jenkins', ['admin-panel']],
    ['tomcat', svc('http', 8080, { product: 'Apache Tomcat' }), 'tomcat', ['admin-panel']],
    ['rabbitmq management on its port', svc('http', 15672, { product: 'Cowboy httpd' }), 'rabbitmq-management', ['admin-panel'], 'port'],
    ['amqp named, RabbitMQ product: the broker, not its console', svc('amqp', 5672, { product: 'RabbitMQ' }), 'amqp', ['broker'], 'name'],
    ['mqtt', svc('mqtt', 1883, { product: 'Mosquitto' }), 'mqtt', ['broker']],
    ['nats', svc('nats', 4222), 'nats', ['broker']],
    ['kafka', svc('kafka', 9092), 'kafka', ['broker']],
    ['smb', svc('microsoft-ds', 445, { product: 'Samba smbd' }), 'smb', ['file-sharing']],
    ['netbios-ssn', svc('netbios-ssn', 139), 'smb', ['file-sharing']],
    ['nfs', svc('nfs', 2049), 'nfs', ['file-sharing']],
    ['rsync', svc('rsync', 873), 'rsync', ['file-sharing']],
    ['ftp', svc('ftp', 21, { product: 'vsftpd' }), 'ftp', ['file-sharing', 'cleartext']],
    ['ftp inside TLS', svc('ftp', 990, { tls: true }), 'ftp', ['file-sharing']],
    ['ftp with AUTH TLS offered', svc('ftp', 21, { startTls: true }), 'ftp', ['file-sharing']],
    ['pop3', svc('pop3', 110), 'pop3', ['cleartext']],
    ['pop3s', svc('pop3s', 995), 'pop3', []],
    ['imap with STARTTLS', svc('imap', 143, { startTls: true }), 'imap', []],
    ['imaps port from the table', svc('imaps', 993, { method: 'table' }), 'imap', []],
    ['ssl/imap', svc('ssl/imap', 993), 'imap', []],
    ['smtp submission without TLS', svc('submission', 587), 'smtp', ['cleartext']],
    ['ldap', svc('ldap', 389), 'ldap', ['cleartext']],
    ['ldaps', svc('ldapssl', 636, { method: 'table' }), 'ldap', []],
    ['snmp', { ...svc('snmp', 161), protocol: 'udp' }, 'snmp', ['cleartext']],
    ['tftp', { ...svc('tftp', 69), protocol: 'udp' }, 'tftp', ['file-sharing', 'cleartext']],
    ['http asking for Basic without TLS', svc('http', 80, { wwwAuthenticate: 'Basic realm="admin"' }), 'http', ['cleartext']],
    ['http asking for Basic inside TLS', svc('http', 443, { tls: true, wwwAuthenticate: 'Basic realm="admin"' }), 'https', []],
    ['http with Digest', svc('http', 80, { wwwAuthenticate: 'Digest realm="x", nonce="y"' }), 'http', []],
    ['plain http', svc('http', 80, { product: 'nginx' }), 'http', []],
    ['ssl/http', svc('ssl/http', 443), 'https', []],
    ['unknown on the Docker port stays unknown', svc('unknown', 2375), undefined, []],
    ['tcpwrapped', svc('tcpwrapped', 22), undefined, []],
    ['ssl with a recognisable product', svc('ssl', 2376, { product: 'Docker' }), 'docker-api', ['admin-panel'], 'product'],
    ['a name the table does not know', svc('irc', 6667), undefined, []],
    ['garbage name', svc('\u0000\u0001', 80), undefined, []],
  ];
  it.each(cases)('%s', (_n, shape, kind, classes, basis) => {
    const c = classifyService(shape);
    expect(c.kind?.id).toBe(kind);
    expect([...c.classes].sort()).toEqual([...classes].sort());
    if (basis !== undefined) expect(c.basis).toBe(basis);
  });

  it('is bounded on huge product and header strings', () => {
    const t = Date.now();
    const c = classifyService(svc('http', 80, { product: 'x'.repeat(5_000_000) + 'Jenkins', wwwAuthenticate: ' '.repeat(5_000_000) + 'Basic' }));
    expect(c.kind?.id).toBe('http');
    expect(c.classes).toEqual([]);
    expect(Date.now() - t).toBeLessThan(1000);
  });
});

describe('portSurprise', () => {
  const surprise = (shape: ServiceShape, label = 'it') => portSurprise(classifyService(shape), shape.port, shape.protocol, label);

  it('finds a service on another service’s port odd', () => {
    expect(surprise(svc('http', 22), 'HTTP')).toEqual({ kind: 'odd', text: 'HTTP answers on port 22, the usual port of SSH: a tunnel, a decoy or a misconfiguration' });
    expect(surprise(svc('ssh', 443))?.text).toContain('usual port of HTTPS');
    expect(surprise(svc('ssh', 80))?.kind).toBe('odd');
    expect(surprise(svc('ssh', 7))?.text).toContain('usual port of echo'); // nmap's table for well-known ports
  });

  it('notes a moved service', () => {
    expect(surprise(svc('ssh', 2222), 'SSH')).toEqual({ kind: 'moved', text: 'SSH on port 2222 instead of 22: a moved port hides from casual scans, not from attackers' });
    expect(surprise(svc('redis', 16379))?.kind).toBe('moved');
  });

  it('leaves usual and unjudgeable ports alone', () => {
    expect(surprise(svc('ssh', 22))).toBeUndefined();
    expect(surprise(svc('http', 8081))).toBeUndefined(); // HTTP apps live anywhere
    expect(surprise(svc('http', 8080, { product: 'Jenkins' }))).toBeUndefined();
    expect(surprise(svc('http', 3000))).toBeUndefined();
    expect(surprise(svc('http', 443, { tls: true }))).toBeUndefined();
    expect(surprise(svc('imap', 993, { tls: true }))).toBeUndefined();
    expect(surprise(svc('http', 2375))).toBeUndefined(); // recognised by the port itself
    expect(surprise(svc('irc', 6667))).toBeUndefined();
    expect(surprise(svc('submission', 587))).toBeUndefined();
    expect(surprise(svc('netbios-ssn', 139))).toBeUndefined();
  });

  it('finds an unidentified service on an unregistered port odd, but not on a well-known one', () => {
    expect(surprise(svc('unknown', 31337))?.text).toBe('an unidentified service on port 31337, which no common service uses: find out what it is (a forgotten dev build, a backdoor?)');
    expect(surprise(svc('', 40000))?.kind).toBe('odd');
    expect(surprise(svc('tcpwrapped', 22))).toBeUndefined();
    expect(surprise(svc('unknown', 6379))).toBeUndefined();
    expect(surprise(svc('unknown', 999))).toBeUndefined();
  });
});

describe('serviceFacts', () => {
  it('flattens a port', () => {
    const p: PortResult = {
      protocol: 'tcp',
      port: 8443,
      state: 'open',
      reason: 'syn-ack',
      tries: 1,
      service: { name: 'http', product: 'Jetty', version: '9.4', method: 'probed', confidence: 10, cpe: [], tunnel: 'ssl', fields: { 'http_header.www-authenticate': 'Basic realm="x"' } },
    };
    expect(serviceFacts(p)).toEqual({ name: 'http', product: 'Jetty', version: '9.4', port: 8443, protocol: 'tcp', state: 'open', confidence: 10, method: 'probed', tls: true, wwwAuthenticate: 'Basic realm="x"' });
    expect(serviceFacts({ protocol: 'tcp', port: 1, state: 'open', reason: 'syn-ack', tries: 1 })).toBeUndefined();
  });
});
