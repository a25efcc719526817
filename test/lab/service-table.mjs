// The service lab as data: which real daemon answers on which port of the `svc` host, what a version
// scanner must call it, and what the `hostile` host's ports do. No imports, so hosts.mjs (expected
// states), services.mjs (start-up, ground truth) and hostile.mjs (the server) share one table.
// Types: services.d.mts.

/**
 * Every daemon of the `svc` host: the Debian package its version comes from, and its ports. `service`
 * is nmap's name; `product` accepts nmap's spelling and ours. `v6: false` means the daemon only
 * listens on the host's v4 address (vsftpd takes one address family per process).
 */
export const DAEMONS = Object.freeze([
  { name: 'ssh', pkg: 'openssh-server', product: /^OpenSSH$/, v6: true, ports: [{ port: 22, service: 'ssh' }] },
  { name: 'ftp', pkg: 'vsftpd', product: /vsftpd/i, v6: false, ports: [{ port: 21, service: 'ftp' }] },
  { name: 'smtp', pkg: 'postfix', product: /Postfix/, v6: true, ports: [{ port: 25, service: 'smtp' }] },
  { name: 'dns', pkg: 'bind9', product: /BIND/, v6: true, ports: [{ port: 53, service: 'domain' }] },
  {
    name: 'nginx', pkg: 'nginx', product: /nginx/, v6: true,
    ports: [{ port: 80, service: 'http' }, { port: 443, service: 'http', tunnel: 'ssl' }],
  },
  {
    name: 'dovecot', pkg: 'dovecot-core', product: /Dovecot/, v6: true,
    ports: [{ port: 110, service: 'pop3' }, { port: 143, service: 'imap' }],
  },
  { name: 'mqtt', pkg: 'mosquitto', product: /Mosquitto/i, v6: true, ports: [{ port: 1883, service: 'mqtt' }] },
  { name: 'mariadb', pkg: 'mariadb-server', product: /MariaDB/, v6: true, ports: [{ port: 3306, service: 'mysql' }] },
  // The package name carries the major version (postgresql-15); services.mjs finds the installed one.
  { name: 'postgresql', pkg: 'postgresql-*', product: /PostgreSQL/, v6: true, ports: [{ port: 5432, service: 'postgresql' }] },
  { name: 'redis', pkg: 'redis-server', product: /Redis/, v6: true, ports: [{ port: 6379, service: 'redis' }] },
  { name: 'apache', pkg: 'apache2', product: /^Apache httpd$/, v6: true, ports: [{ port: 8080, service: 'http' }] },
  { name: 'memcached', pkg: 'memcached', product: /Memcached/i, v6: true, ports: [{ port: 11211, service: 'memcached' }] },
]);

/** Daemon names in table order. */
export const DAEMON_NAMES = Object.freeze(DAEMONS.map((d) => d.name));

/** Every port a daemon of the `svc` host listens on, sorted. */
export const SERVICE_PORTS = Object.freeze(DAEMONS.flatMap((d) => d.ports.map((p) => p.port)).sort((a, b) => a - b));

/**
 * The `hostile` host's ports (hostile.mjs). `service` is what a version scanner should say, as nmap
 * 7.93 -sV says it here: `tcpwrapped` for a connection closed (FIN or RST) before any data, `ssh` for
 * the SSH banner (whose product and version are lies), otherwise undefined: nothing to identify
 * (nmap says `unknown`, method="table"; a port-table guess does not count as identification).
 * 40001-40009 avoids nmap's excluded 9100-9107 and every common service port. nmap 7.93 -sV needs
 * 2 to over 6 minutes for these nine ports (tarpit and drip exhaust every probe's wait; it keeps the
 * endless stream in memory, 800 MB and growing).
 */
export const HOSTILE_PORTS = Object.freeze([
  { port: 40001, behaviour: 'tarpit', about: 'accepts, never sends, never closes (reads and discards)' },
  { port: 40002, behaviour: 'endless', about: 'writes printable lines forever, as fast as the peer reads' },
  { port: 40003, behaviour: 'drip', about: 'one byte per second forever (a never-ending "220 ..." banner)' },
  { port: 40004, behaviour: 'reset', about: 'accepts, then closes with SO_LINGER 0: an RST, no data', service: 'tcpwrapped' },
  { port: 40005, behaviour: 'close', about: 'accepts, then closes at once (FIN, no data)', service: 'tcpwrapped' },
  { port: 40006, behaviour: 'garbage', about: 'silent until the peer sends anything (TLS ClientHello, HTTP, ...), then random bytes' },
  { port: 40007, behaviour: 'hugeline', about: '1 MiB single line without a newline ("220 AAAA..."), then waits' },
  { port: 40008, behaviour: 'ansi', about: 'banner with ANSI/OSC escapes, <script>alert(1)</script>, NUL and a \\r overwrite' },
  {
    port: 40009, behaviour: 'sshgarbage', service: 'ssh',
    about: 'a valid-looking SSH banner (claims OpenSSH_9.9p1), then a packet with a lying 2 GiB length and random bytes',
  },
]);

/** The hostile ports, sorted. */
export const HOSTILE_PORT_NUMBERS = Object.freeze(HOSTILE_PORTS.map((h) => h.port));
