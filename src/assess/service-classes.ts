/**
 * What kind of service something is, for ranking: one table of known services (by nmap name,
 * product text and usual ports) and the risk classes they belong to, each with a short explanation.
 * Pure data plus a classifier; the priority rules decide what a class is worth.
 */
import type { PortResult, Protocol, ServiceMethod } from '../core/model.js';
import { portsForName, serviceNameForPort } from '../core/ports.js';
import type { PortState } from '../core/status.js';

/** Risk classes a service can belong to (several at once: telnet is remote admin and cleartext). */
export type ServiceClassId = 'remote-admin' | 'database' | 'admin-panel' | 'cleartext' | 'broker' | 'file-sharing';

/** A class's title and the one-line explanation a reason quotes. */
export interface ServiceClass {
  title: string;
  /** The title as a noun phrase in a sentence (`a database or cache`). */
  noun: string;
  explanation: string;
}

/** The classes, with the explanation shown in reasons and in the README. */
export const SERVICE_CLASSES: Readonly<Record<ServiceClassId, ServiceClass>> = {
  'remote-admin': {
    title: 'remote administration',
    noun: 'remote administration',
    explanation: 'a login here is a shell or a desktop on the host, and exposed logins draw constant password guessing',
  },
  database: {
    title: 'database or cache',
    noun: 'a database or cache',
    explanation: 'it holds application data and is meant for the application servers only; many ship without authentication',
  },
  'admin-panel': {
    title: 'management panel or admin API',
    noun: 'a management panel or admin API',
    explanation: 'whoever gets in can change configuration, deploy code or run commands',
  },
  cleartext: {
    title: 'cleartext protocol',
    noun: 'a cleartext protocol',
    explanation: 'credentials and data cross the network unencrypted and can be read or altered on the way',
  },
  broker: {
    title: 'message broker',
    noun: 'a message broker',
    explanation: 'reading or injecting messages reaches every system that trusts the queue',
  },
  'file-sharing': {
    title: 'file sharing',
    noun: 'file sharing',
    explanation: 'it exposes files, and often credentials or hashes that unlock more',
  },
};

/** One known service. */
export interface ServiceKind {
  /** Stable id (`redis`, `docker-api`). */
  id: string;
  /** Human name for reasons (`Redis`, `Docker Engine API`). */
  label: string;
  classes: readonly ServiceClassId[];
  /** nmap service names (lower case) that name this service, including nmap's port-table spellings. */
  names?: readonly string[];
  /** Names that mean the TLS variant (`imaps`); a service with one of them is not cleartext. */
  tlsNames?: readonly string[];
  /** Product text that identifies the service (checked when the name is generic: `http`, `unknown`). */
  product?: RegExp;
  /** Usual ports, first is the registered one. */
  ports: readonly number[];
  /** Ports where TLS is implicit (993 for IMAP). */
  tlsPorts?: readonly number[];
  /**
   * Ports that identify the service on their own when the name is generic (`http` on 2375 is the
   * Docker API) or came from the port table. Only ports strongly tied to one product.
   */
  hintPorts?: readonly number[];
  /** Transport protocols; default tcp. */
  protocols?: readonly Protocol[];
  /** Speaks HTTP: shares ports with other HTTP services without being out of place. */
  http?: boolean;
  /** `always`: no TLS exists for it in practice; `without-tls`: cleartext unless TLS or STARTTLS; `basic-auth`: HTTP asking for Basic credentials without TLS. */
  cleartext?: 'always' | 'without-tls' | 'basic-auth';
  /** A cleartext login to a shell (telnet, rlogin, rsh, rexec). */
  shell?: boolean;
  /** Why it is open to anyone unless configured otherwise, when that is the default. */
  noAuthByDefault?: string;
}

const UDP: readonly Protocol[] = ['udp'];
const BOTH: readonly Protocol[] = ['tcp', 'udp'];

/** The table. Order matters only for product matching (first match wins), so specific products come first. */
export const SERVICE_KINDS: readonly ServiceKind[] = [
  // Remote administration.
  { id: 'ssh', label: 'SSH', classes: ['remote-admin'], names: ['ssh'], ports: [22] },
  { id: 'rdp', label: 'RDP', classes: ['remote-admin'], names: ['ms-wbt-server', 'rdp'], ports: [3389] },
  { id: 'vnc', label: 'VNC', classes: ['remote-admin'], names: ['vnc'], product: /\bvnc\b/i, ports: [5900, 5901, 5902, 5903] },
  { id: 'telnet', label: 'Telnet', classes: ['remote-admin', 'cleartext'], names: ['telnet'], product: /telnetd/i, ports: [23], cleartext: 'always', shell: true },
  { id: 'rlogin', label: 'rlogin', classes: ['remote-admin', 'cleartext'], names: ['login', 'rlogin'], ports: [513], cleartext: 'always', shell: true },
  { id: 'rsh', label: 'rsh', classes: ['remote-admin', 'cleartext'], names: ['shell', 'rsh'], ports: [514], cleartext: 'always', shell: true },
  { id: 'rexec', label: 'rexec', classes: ['remote-admin', 'cleartext'], names: ['exec', 'rexec'], ports: [512], cleartext: 'always', shell: true },
  { id: 'winrm', label: 'WinRM', classes: ['remote-admin'], names: ['wsman', 'wsmans', 'winrm'], tlsNames: ['wsmans'], ports: [5985, 5986], tlsPorts: [5986], hintPorts: [5985, 5986], http: true },
  { id: 'x11', label: 'X11', classes: ['remote-admin'], names: ['x11', 'x11:1', 'x11:2', 'x11:3'], ports: [6000, 6001, 6002, 6003] },
  { id: 'ipmi', label: 'IPMI', classes: ['remote-admin'], names: ['ipmi', 'asf-rmcp'], ports: [623], protocols: UDP },
  { id: 'teamviewer', label: 'TeamViewer', classes: ['remote-admin'], names: ['teamviewer'], ports: [5938] },
  { id: 'radmin', label: 'Radmin', classes: ['remote-admin'], names: ['radmin'], ports: [4899] },
  { id: 'pcanywhere', label: 'pcAnywhere', classes: ['remote-admin'], names: ['pcanywheredata'], ports: [5631] },

  // Management panels and admin APIs (before the databases: an HTTP product test must find these first).
  { id: 'docker-api', label: 'Docker Engine API', classes: ['admin-panel'], names: ['docker', 'docker-s'], tlsNames: ['docker-s'], product: /docker engine|^docker$/i, ports: [2375, 2376], tlsPorts: [2376], hintPorts: [2375, 2376], http: true, noAuthByDefault: 'the Docker API has no authentication unless TLS client certificates are set up, and it is root on the host' },
  { id: 'kubernetes-api', label: 'Kubernetes API server', classes: ['admin-panel'], names: ['kubernetes'], product: /kubernetes|\bk8s\b/i, ports: [6443], hintPorts: [6443], http: true },
  { id: 'kubelet', label: 'Kubernetes kubelet', classes: ['admin-panel'], names: ['kubelet'], product: /kubelet/i, ports: [10250, 10255], hintPorts: [10250, 10255], http: true },
  { id: 'etcd', label: 'etcd', classes: ['admin-panel', 'database'], names: ['etcd', 'etcd-client', 'etcd-server'], product: /^etcd\b/i, ports: [2379, 2380], hintPorts: [2379, 2380], http: true },
  { id: 'jenkins', label: 'Jenkins', classes: ['admin-panel'], names: ['jenkins'], product: /jenkins|hudson/i, ports: [8080], http: true },
  { id: 'webmin', label: 'Webmin', classes: ['admin-panel'], names: ['webmin'], product: /webmin|miniserv/i, ports: [10000], hintPorts: [10000], http: true },
  { id: 'cpanel', label: 'cPanel/WHM', classes: ['admin-panel'], names: ['cpanel'], product: /cpanel|\bwhm\b/i, ports: [2082, 2083, 2086, 2087], hintPorts: [2082, 2083, 2086, 2087], http: true },
  { id: 'phpmyadmin', label: 'phpMyAdmin', classes: ['admin-panel'], product: /phpmyadmin/i, ports: [80, 443], http: true },
  { id: 'tomcat', label: 'Apache Tomcat (manager application)', classes: ['admin-panel'], product: /tomcat|coyote/i, ports: [8080, 8443], http: true },
  { id: 'rabbitmq-management', label: 'RabbitMQ management', classes: ['admin-panel'], product: /rabbitmq.*management/i, ports: [15672], hintPorts: [15672], http: true },
  { id: 'consul', label: 'Consul', classes: ['admin-panel'], names: ['consul'], product: /consul/i, ports: [8500], hintPorts: [8500], http: true },
  { id: 'nomad', label: 'Nomad', classes: ['admin-panel'], names: ['nomad'], product: /\bnomad\b/i, ports: [4646], hintPorts: [4646], http: true },
  { id: 'vault', label: 'Vault', classes: ['admin-panel'], names: ['vault'], product: /hashicorp vault/i, ports: [8200], hintPorts: [8200], http: true },
  { id: 'prometheus', label: 'Prometheus', classes: ['admin-panel'], names: ['prometheus'], product: /prometheus/i, ports: [9090], hintPorts: [9090], http: true },
  { id: 'cockpit', label: 'Cockpit', classes: ['admin-panel'], names: ['cockpit'], product: /cockpit/i, ports: [9090], http: true },
  { id: 'grafana', label: 'Grafana', classes: ['admin-panel'], names: ['grafana'], product: /grafana/i, ports: [3000], http: true },
  { id: 'kibana', label: 'Kibana', classes: ['admin-panel'], names: ['kibana'], product: /kibana/i, ports: [5601], hintPorts: [5601], http: true },
  { id: 'portainer', label: 'Portainer', classes: ['admin-panel'], names: ['portainer'], product: /portainer/i, ports: [9000, 9443], http: true },
  { id: 'weblogic', label: 'Oracle WebLogic', classes: ['admin-panel'], names: ['weblogic'], product: /weblogic/i, ports: [7001, 7002], http: true },
  { id: 'jboss', label: 'JBoss/WildFly management', classes: ['admin-panel'], product: /jboss|wildfly/i, ports: [9990], http: true },
  { id: 'hadoop-yarn', label: 'Hadoop YARN/HDFS web UI', classes: ['admin-panel'], product: /hadoop|\byarn\b/i, ports: [8088, 9870, 50070], http: true },
  { id: 'supervisord', label: 'Supervisor', classes: ['admin-panel'], names: ['supervisor'], product: /supervisor/i, ports: [9001], http: true },
  { id: 'java-rmi', label: 'Java RMI/JMX', classes: ['admin-panel'], names: ['rmiregistry', 'java-rmi'], product: /java rmi|jmx/i, ports: [1099] },
  { id: 'bmc-web', label: 'BMC web interface (iLO, iDRAC)', classes: ['admin-panel'], product: /lights-out|\bilo\b|idrac/i, ports: [443], http: true },
  { id: 'activemq-console', label: 'ActiveMQ web console', classes: ['admin-panel'], product: /activemq.*(?:console|jetty)/i, ports: [8161], hintPorts: [8161], http: true },

  // Databases, caches and data stores.
  { id: 'mysql', label: 'MySQL/MariaDB', classes: ['database'], names: ['mysql', 'mariadb', 'mysqlx'], product: /mysql|mariadb|percona|tidb|vitess|proxysql/i, ports: [3306, 33060] },
  { id: 'postgresql', label: 'PostgreSQL', classes: ['database'], names: ['postgresql', 'postgres'], product: /postgres/i, ports: [5432] },
  { id: 'mssql', label: 'Microsoft SQL Server', classes: ['database'], names: ['ms-sql-s', 'ms-sql-m', 'mssql'], product: /sql server/i, ports: [1433, 1434] },
  { id: 'oracle', label: 'Oracle database (TNS listener)', classes: ['database'], names: ['oracle-tns', 'oracle'], product: /oracle tns/i, ports: [1521] },
  { id: 'mongodb', label: 'MongoDB', classes: ['database'], names: ['mongodb', 'mongod'], product: /mongodb|ferretdb/i, ports: [27017, 27018, 27019] },
  { id: 'redis', label: 'Redis', classes: ['database'], names: ['redis'], product: /redis|valkey|dragonfly|keydb/i, ports: [6379] },
  { id: 'memcached', label: 'Memcached', classes: ['database'], names: ['memcached', 'memcache'], product: /memcache/i, ports: [11211], protocols: BOTH, noAuthByDefault: 'Memcached has no authentication unless SASL is compiled in and enabled' },
  { id: 'elasticsearch', label: 'Elasticsearch/OpenSearch', classes: ['database'], names: ['elasticsearch', 'opensearch'], product: /elasticsearch|opensearch/i, ports: [9200, 9300], hintPorts: [9200], http: true },
  { id: 'couchdb', label: 'CouchDB', classes: ['database'], names: ['couchdb'], product: /couchdb/i, ports: [5984], hintPorts: [5984], http: true },
  { id: 'cassandra', label: 'Cassandra', classes: ['database'], names: ['cassandra', 'cassandra-native'], product: /cassandra|scylla/i, ports: [9042] },
  { id: 'influxdb', label: 'InfluxDB', classes: ['database'], names: ['influxdb'], product: /influx/i, ports: [8086], hintPorts: [8086], http: true },
  { id: 'neo4j', label: 'Neo4j', classes: ['database'], names: ['neo4j'], product: /neo4j/i, ports: [7474, 7687] },
  { id: 'clickhouse', label: 'ClickHouse', classes: ['database'], names: ['clickhouse'], product: /clickhouse/i, ports: [8123, 9000], hintPorts: [8123], http: true },
  { id: 'db2', label: 'IBM Db2', classes: ['database'], names: ['db2', 'ibm-db2'], product: /\bdb2\b/i, ports: [50000, 523] },
  { id: 'zookeeper', label: 'ZooKeeper', classes: ['database'], names: ['zookeeper'], product: /zookeeper/i, ports: [2181] },
  { id: 'solr', label: 'Apache Solr', classes: ['database'], names: ['solr'], product: /\bsolr\b/i, ports: [8983], hintPorts: [8983], http: true },
  { id: 'search-sql', label: 'Sphinx/Manticore search', classes: ['database'], names: ['sphinxql', 'sphinx'], product: /sphinx|manticore/i, ports: [9306, 9312] },
  { id: 'minio', label: 'MinIO object store', classes: ['database'], names: ['minio'], product: /minio/i, ports: [9000, 9001], http: true },

  // Message brokers.
  { id: 'amqp', label: 'AMQP broker', classes: ['broker'], names: ['amqp', 'amqps'], tlsNames: ['amqps'], product: /rabbitmq|qpid|lavinmq/i, ports: [5672, 5671], tlsPorts: [5671] },
  { id: 'mqtt', label: 'MQTT broker', classes: ['broker'], names: ['mqtt', 'mqtts', 'secure-mqtt'], tlsNames: ['mqtts', 'secure-mqtt'], product: /mosquitto|emqx|hivemq/i, ports: [1883, 8883], tlsPorts: [8883] },
  { id: 'nats', label: 'NATS', classes: ['broker'], names: ['nats'], product: /\bnats\b/i, ports: [4222] },
  { id: 'kafka', label: 'Kafka', classes: ['broker'], names: ['kafka'], product: /kafka/i, ports: [9092, 9093] },
  { id: 'activemq', label: 'ActiveMQ', classes: ['broker'], names: ['activemq', 'openwire'], product: /activemq/i, ports: [61616] },
  { id: 'stomp', label: 'STOMP broker', classes: ['broker'], names: ['stomp'], ports: [61613] },

  // File sharing.
  { id: 'smb', label: 'SMB', classes: ['file-sharing'], names: ['microsoft-ds', 'netbios-ssn', 'smb', 'smb2', 'cifs'], product: /samba|windows smb/i, ports: [445, 139] },
  { id: 'nfs', label: 'NFS', classes: ['file-sharing'], names: ['nfs', 'nfsd', 'mountd'], ports: [2049], protocols: BOTH },
  { id: 'rsync', label: 'rsync daemon', classes: ['file-sharing'], names: ['rsync'], ports: [873] },
  { id: 'ftp', label: 'FTP', classes: ['file-sharing', 'cleartext'], names: ['ftp', 'ftps', 'ftps-data'], tlsNames: ['ftps'], product: /ftpd|ftp server/i, ports: [21, 990], tlsPorts: [990], cleartext: 'without-tls' },
  { id: 'tftp', label: 'TFTP', classes: ['file-sharing', 'cleartext'], names: ['tftp'], ports: [69], protocols: UDP, cleartext: 'always' },
  { id: 'afp', label: 'AFP', classes: ['file-sharing'], names: ['afp', 'afpovertcp'], ports: [548] },
  { id: 'iscsi', label: 'iSCSI', classes: ['file-sharing'], names: ['iscsi', 'iscsi-target'], ports: [3260] },

  // Cleartext mail, directory and management protocols.
  { id: 'pop3', label: 'POP3', classes: ['cleartext'], names: ['pop3', 'pop3s'], tlsNames: ['pop3s'], ports: [110, 995], tlsPorts: [995], cleartext: 'without-tls' },
  { id: 'imap', label: 'IMAP', classes: ['cleartext'], names: ['imap', 'imaps', 'imap4'], tlsNames: ['imaps'], ports: [143, 993], tlsPorts: [993], cleartext: 'without-tls' },
  { id: 'smtp', label: 'SMTP', classes: ['cleartext'], names: ['smtp', 'smtps', 'submission', 'submissions'], tlsNames: ['smtps', 'submissions'], ports: [25, 587, 465], tlsPorts: [465], cleartext: 'without-tls' },
  { id: 'ldap', label: 'LDAP', classes: ['cleartext'], names: ['ldap', 'ldaps', 'ldapssl', 'globalcatldap', 'globalcatldapssl'], tlsNames: ['ldaps', 'ldapssl', 'globalcatldapssl'], ports: [389, 636, 3268, 3269], tlsPorts: [636, 3269], cleartext: 'without-tls' },
  { id: 'snmp', label: 'SNMP', classes: ['cleartext'], names: ['snmp'], ports: [161], protocols: BOTH, cleartext: 'always' },

  // No class of their own: listed so ports are known and HTTP with Basic auth is caught.
  { id: 'http', label: 'HTTP', classes: [], names: ['http', 'http-alt', 'http-proxy', 'www', 'www-http', 'http-mgmt'], ports: [80, 8080, 8000, 8008, 8888], http: true, cleartext: 'basic-auth' },
  { id: 'https', label: 'HTTPS', classes: [], names: ['https', 'https-alt'], tlsNames: ['https', 'https-alt'], ports: [443, 8443], tlsPorts: [443, 8443], http: true },
  { id: 'dns', label: 'DNS', classes: [], names: ['domain', 'dns'], ports: [53], protocols: BOTH },
  { id: 'ntp', label: 'NTP', classes: [], names: ['ntp'], ports: [123], protocols: UDP },
];

/** What is known about the service itself (a port's service, flattened). */
export interface ServiceFacts {
  name: string;
  product?: string;
  version?: string;
  port: number;
  protocol: Protocol;
  state: PortState;
  /** Ran inside TLS (or was upgraded to it). */
  tls?: boolean;
  /** The server offered STARTTLS (cleartext until the client asks). */
  startTls?: boolean;
  /** The WWW-Authenticate header an HTTP service sent (`Basic realm="…"`). */
  wwwAuthenticate?: string;
  /** 0–10, nmap's `conf`. */
  confidence: number;
  method: ServiceMethod;
}

/** The facts classification looks at. */
export type ServiceShape = Pick<ServiceFacts, 'name' | 'product' | 'port' | 'protocol' | 'method' | 'tls' | 'startTls' | 'wwwAuthenticate'>;

/** The facts of one port as the model holds them; undefined when the port has no service. */
export function serviceFacts(p: PortResult): ServiceFacts | undefined {
  const s = p.service;
  if (s === undefined) return undefined;
  const facts: ServiceFacts = { name: s.name, port: p.port, protocol: p.protocol, state: p.state, confidence: s.confidence, method: s.method };
  if (s.product !== undefined) facts.product = s.product;
  if (s.version !== undefined) facts.version = s.version;
  if (s.tunnel === 'ssl' || s.tls !== undefined) facts.tls = true;
  if (s.startTls === true) facts.startTls = true;
  const auth = s.fields?.['http_header.www-authenticate'];
  if (auth !== undefined) facts.wwwAuthenticate = auth;
  return facts;
}

/** A service name cleaned for lookups: lower case, `ssl/` prefix and nmap's trailing `?` removed. */
export interface NormalName {
  /** Empty when the name was missing or not a plausible service name (garbage, too long). */
  name: string;
  /** The name said `ssl/…`. */
  ssl: boolean;
  /** nmap marked the name uncertain (`http?`). */
  uncertain: boolean;
}

// nmap's names use letters, digits and `-_.+:` (`X11:1`, `documentum_s`).
const NAME_RE = /^[a-z0-9][a-z0-9_.+:-]{0,47}$/;

/** Clean an nmap-style service name; anything implausible becomes the empty name (unknown). */
export function normalizeServiceName(raw: unknown): NormalName {
  if (typeof raw !== 'string' || raw.length > 64) return { name: '', ssl: false, uncertain: false };
  let n = raw.trim().toLowerCase();
  const uncertain = n.endsWith('?');
  if (uncertain) n = n.slice(0, -1);
  const ssl = /^(?:ssl|tls)\//.test(n);
  if (ssl) n = n.slice(4);
  return { name: NAME_RE.test(n) ? n : '', ssl, uncertain };
}

/** Names that say "we could not tell". */
export const UNKNOWN_NAMES: ReadonlySet<string> = new Set(['', 'unknown', 'tcpwrapped', 'ssl', 'tls']);

const HTTP_NAMES: ReadonlySet<string> = new Set(SERVICE_KINDS.filter((k) => k.id === 'http' || k.id === 'https').flatMap((k) => k.names ?? []));

/** True for a name that only says "HTTP", so the product or the port has to tell which application it is. */
export function isGenericHttp(name: string): boolean {
  return HTTP_NAMES.has(name);
}

/** Longest product text looked at: real ones are a few dozen characters. */
const MAX_PRODUCT = 200;

/** What {@link classifyService} found. */
export interface Classification {
  kind?: ServiceKind;
  /** How the kind was recognised: its name, its product text, or its port alone. */
  basis?: 'name' | 'product' | 'port';
  classes: ServiceClassId[];
  /** The service runs over TLS (flag, `ssl/` name, TLS name or implicit-TLS port) or offered STARTTLS. */
  encrypted: boolean;
  normal: NormalName;
}

function speaksOn(kind: ServiceKind, protocol: Protocol): boolean {
  return (kind.protocols ?? ['tcp']).includes(protocol);
}

function findKind(s: ServiceShape, normal: NormalName): { kind: ServiceKind; basis: 'name' | 'product' | 'port' } | undefined {
  const product = typeof s.product === 'string' ? s.product.slice(0, MAX_PRODUCT) : '';
  const generic = UNKNOWN_NAMES.has(normal.name) || isGenericHttp(normal.name);
  // A specific protocol name wins: `amqp` with product RabbitMQ is the broker, not its web console.
  if (!generic) {
    const byName = kindByName(normal.name);
    if (byName) return { kind: byName, basis: 'name' };
  }
  if (product !== '') {
    const httpish = isGenericHttp(normal.name);
    const byProduct = SERVICE_KINDS.find((k) => k.product?.test(product) === true && (!httpish || k.http === true));
    if (byProduct) return { kind: byProduct, basis: 'product' };
  }
  // A port says what runs there only when nothing better was said: an HTTP answer or a table guess.
  if (isGenericHttp(normal.name) || (s.method === 'table' && !generic)) {
    const byPort = SERVICE_KINDS.find((k) => k.hintPorts?.includes(s.port) === true && speaksOn(k, s.protocol));
    if (byPort) return { kind: byPort, basis: 'port' };
  }
  if (isGenericHttp(normal.name)) {
    const http = kindByName(normal.name);
    if (http) return { kind: http, basis: 'name' };
  }
  return undefined;
}

/**
 * Which known service this is and which risk classes apply. The cleartext class is dropped when the
 * service is encrypted, and for HTTP it applies only when the server asked for Basic credentials.
 */
export function classifyService(s: ServiceShape): Classification {
  const normal = normalizeServiceName(s.name);
  const found = findKind(s, normal);
  let kind = found?.kind;
  const encrypted =
    s.tls === true ||
    s.startTls === true ||
    normal.ssl ||
    (kind?.tlsNames?.includes(normal.name) ?? false) ||
    kind?.tlsPorts?.includes(s.port) === true;
  // Plain HTTP found inside TLS is HTTPS, with HTTPS's ports.
  if (kind?.id === 'http' && encrypted && found !== undefined) found.kind = kind = kindByName('https') ?? kind;
  const classes: ServiceClassId[] = (kind?.classes ?? []).filter((c) => c !== 'cleartext');
  const auth = typeof s.wwwAuthenticate === 'string' ? s.wwwAuthenticate.slice(0, MAX_PRODUCT) : '';
  const clear =
    kind?.cleartext === 'always' ||
    (kind?.cleartext === 'without-tls' && !encrypted) ||
    (kind?.http === true && !encrypted && /^\s*basic\b/i.test(auth));
  if (clear) classes.push('cleartext');
  const out: Classification = { classes, encrypted, normal };
  if (found) {
    out.kind = found.kind;
    out.basis = found.basis;
  }
  return out;
}

/** Usual ports of a kind, for the transport given (empty when the kind does not use it). */
export function usualPorts(kind: ServiceKind, protocol: Protocol): readonly number[] {
  return speaksOn(kind, protocol) ? kind.ports : [];
}

/** The kind an nmap name stands for, if the table knows it. */
export function kindByName(name: string): ServiceKind | undefined {
  return SERVICE_KINDS.find((k) => k.names?.includes(name) === true);
}

/** Kinds whose usual ports include this one (same transport), in table order. */
export function kindsOnPort(port: number, protocol: Protocol): ServiceKind[] {
  return SERVICE_KINDS.filter((k) => speaksOn(k, protocol) && k.ports.includes(port));
}

/** Who else normally sits on this port: a kind from the table, or nmap's name for a well-known port. */
function portOwner(cls: Classification, port: number, protocol: Protocol): string | undefined {
  const kind = cls.kind;
  // HTTP applications share HTTP ports (Jenkins on 8080 is not out of place).
  const compatible = (k: ServiceKind): boolean => k === kind || (k.http === true && kind?.http === true);
  // The protocol registered there speaks for the port: SSH for 22, HTTPS (not phpMyAdmin) for 443.
  const rankOf = (k: ServiceKind): number => (k.names === undefined ? 100 : 0) + k.ports.indexOf(port);
  const owner = kindsOnPort(port, protocol)
    .filter((k) => !compatible(k) && k.names?.includes(cls.normal.name) !== true)
    .sort((a, b) => rankOf(a) - rankOf(b))[0];
  if (owner !== undefined) return owner.label;
  const table = protocol === 'tcp' && port < 1024 ? serviceNameForPort(port)?.toLowerCase() : undefined;
  if (table === undefined || table === 'unknown' || table === cls.normal.name) return undefined;
  // `https` on 443 is no surprise for HTTP over TLS, nor `imaps` on 993 for IMAP.
  const tableKind = kindByName(table);
  return tableKind !== undefined && compatible(tableKind) ? undefined : normalizeServiceName(table).name || undefined;
}

/**
 * Whether a service's port is a surprise. `odd`: it answers on another service's usual port (HTTP
 * on 22), or it is unidentified on a port no common service uses (31337). `moved`: a known service
 * off its usual port (SSH on 2222). Undefined when the port is usual, or recognised the kind itself.
 */
export function portSurprise(cls: Classification, port: number, protocol: Protocol, label: string): { kind: 'odd' | 'moved'; text: string } | undefined {
  if (cls.basis === 'port') return undefined;
  if (cls.kind === undefined && UNKNOWN_NAMES.has(cls.normal.name)) {
    // An unknown thing on a well-known port is more often a wrapped or firewalled service than a surprise.
    if (port < 1024 || kindsOnPort(port, protocol).length > 0) return undefined;
    return { kind: 'odd', text: `an unidentified service on port ${port}, which no common service uses: find out what it is (a forgotten dev build, a backdoor?)` };
  }
  const usual = cls.kind ? usualPorts(cls.kind, protocol) : protocol === 'tcp' ? portsForName(cls.normal.name) : [];
  if (usual.includes(port)) return undefined;
  const owner = portOwner(cls, port, protocol);
  if (owner !== undefined) return { kind: 'odd', text: `${label} answers on port ${port}, the usual port of ${owner}: a tunnel, a decoy or a misconfiguration` };
  // HTTP applications live on every port; only a protocol with one home port has "moved".
  if (usual[0] !== undefined && cls.kind?.http !== true) return { kind: 'moved', text: `${label} on port ${port} instead of ${usual[0]}: a moved port hides from casual scans, not from attackers` };
  return undefined;
}
