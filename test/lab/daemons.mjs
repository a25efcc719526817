// How to run each real daemon of the `svc` host in the foreground with every config, data, pid and
// log file inside its own temporary directory, bound to the lab addresses only. services.mjs calls
// `prepare(ctx)` (one-time set-up: keys, certificates, initdb...) and then runs the returned argv
// inside the host's namespace with stdout and stderr going to a log file.
//
// ctx: { dir (this daemon's directory, 0755, owned by root), v4, v6 (lab addresses), fqdn, cert
// ({ cert, key } paths of the lab's self-signed certificate), run(cmd, args) and runInNs(cmd, args)
// (must succeed within a timeout; runInNs runs inside the host's namespace), chown(path, user, group?),
// pgBin (the installed PostgreSQL's bin directory) }. Every daemon listens on v6 too unless service-table.mjs says not.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Run argv as `user` (setpriv execs, so the recorded PID stays the daemon's own). */
const asUser = (user, argv) => ['setpriv', '--reuid', user, '--regid', user, '--init-groups', ...argv];

function write(path, text, mode = 0o644) {
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  return path;
}

function subdir(dir, name, mode = 0o755) {
  const p = join(dir, name);
  mkdirSync(p, { recursive: true, mode });
  chmodSync(p, mode);
  return p;
}

const lines = (...xs) => `${xs.flat().join('\n')}\n`;

/** Per-daemon `prepare(ctx) -> { argv, stopSignal? }`, keyed by the names in service-table.mjs. */
export const DAEMON_SETUP = {
  async ssh({ dir, v4, v6, run }) {
    // sshd's privilege-separation directory; Debian's unit file creates it, nothing here did.
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const key = join(dir, 'ssh_host_ed25519_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'portolan-lab', '-f', key]);
    // Public-key login only, and only with a key a test writes into this (initially empty) file:
    // the SSH listener audit logs in as root with a key it generated. StrictModes would refuse the
    // file because the system temporary directory above it is world-writable.
    const authorizedKeys = write(join(dir, 'authorized_keys'), '', 0o600);
    const cfg = write(join(dir, 'sshd_config'), lines(
      'Port 22', `ListenAddress ${v4}`, `ListenAddress ${v6}`, `HostKey ${key}`, `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password',
      `AuthorizedKeysFile ${authorizedKeys}`, 'StrictModes no', 'UseDNS no', 'LogLevel INFO',
    ));
    return { argv: ['/usr/sbin/sshd', '-D', '-e', '-f', cfg] };
  },

  async ftp({ dir, v4 }) {
    // vsftpd refuses a writable anonymous root and wants an empty root-owned chroot directory.
    const root = subdir(dir, 'pub');
    write(join(root, 'README'), 'portolan lab\n');
    const empty = subdir(dir, 'empty');
    const cfg = write(join(dir, 'vsftpd.conf'), lines(
      'listen=YES', 'listen_ipv6=NO', `listen_address=${v4}`, 'listen_port=21', 'background=NO',
      'anonymous_enable=YES', 'local_enable=NO', 'write_enable=NO', 'anon_upload_enable=NO', `anon_root=${root}`,
      'no_anon_password=YES', `secure_chroot_dir=${empty}`, 'nopriv_user=ftp', 'ftp_username=ftp',
      'xferlog_enable=NO', 'dirmessage_enable=NO', 'hide_ids=YES', 'seccomp_sandbox=NO',
      'pasv_enable=YES', 'pasv_min_port=40100', 'pasv_max_port=40199', 'max_clients=64',
    ), 0o600);
    return { argv: ['/usr/sbin/vsftpd', cfg] };
  },

  async smtp({ dir, v4, v6, fqdn, chown }) {
    const etc = subdir(dir, 'etc');
    const spool = subdir(dir, 'spool');
    const data = subdir(dir, 'data');
    chown(data, 'postfix');
    chmodSync(data, 0o700);
    // Debian's stock main.cf banner (/usr/share/postfix/main.cf.debian), as a Debian host shows it.
    // No resolver is reachable from the lab, so the peer-name lookup would delay the banner.
    write(join(etc, 'main.cf'), lines(
      'compatibility_level = 3.6', `queue_directory = ${spool}`, `data_directory = ${data}`,
      'command_directory = /usr/sbin', 'daemon_directory = /usr/lib/postfix/sbin', 'meta_directory = /etc/postfix',
      'shlib_directory = /usr/lib/postfix', 'mail_owner = postfix', 'setgid_group = postdrop',
      `myhostname = ${fqdn}`, 'mydestination =', 'mynetworks = 127.0.0.0/8', `inet_interfaces = ${v4}, ${v6}`,
      'inet_protocols = ipv4, ipv6', 'smtpd_peername_lookup = no', 'alias_maps =', 'alias_database =',
      'local_recipient_maps =', 'biff = no', 'smtpd_relay_restrictions = reject_unauth_destination',
      'maillog_file = /dev/stdout', 'smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)',
    ));
    write(join(etc, 'master.cf'), lines(
      'smtp      inet  n       -       n       -       -       smtpd',
      'cleanup   unix  n       -       n       -       0       cleanup',
      'qmgr      unix  n       -       n       300     1       qmgr',
      'rewrite   unix  -       -       n       -       -       trivial-rewrite',
      'bounce    unix  -       -       n       -       0       bounce',
      'defer     unix  -       -       n       -       0       bounce',
      'trace     unix  -       -       n       -       0       bounce',
      'verify    unix  -       -       n       -       1       verify',
      'proxymap  unix  -       -       n       -       -       proxymap',
      'anvil     unix  -       -       n       -       1       anvil',
      'scache    unix  -       -       n       -       1       scache',
      'postlog   unix-dgram n  -       n       -       1       postlogd',
    ));
    // The queue tree with the owners and modes Postfix's post-install gives it (`postfix check` would
    // make it too, but takes seconds of shell).
    subdir(spool, 'pid');
    for (const q of ['active', 'bounce', 'corrupt', 'defer', 'deferred', 'flush', 'hold', 'incoming', 'private', 'saved', 'trace']) {
      chown(subdir(spool, q, 0o700), 'postfix');
    }
    chown(subdir(spool, 'maildrop', 0o1730), 'postfix', 'postdrop');
    chown(subdir(spool, 'public', 0o2710), 'postfix', 'postdrop');
    return { argv: ['/usr/lib/postfix/sbin/master', '-d', '-c', etc] };
  },

  async dns({ dir, v4, v6, fqdn }) {
    const work = subdir(dir, 'work');
    const zone = write(join(dir, 'lab.test.zone'), lines(
      '$TTL 300', `@ IN SOA ${fqdn}. hostmaster.lab.test. 1 3600 600 86400 300`, `@ IN NS ${fqdn}.`,
      `svc IN A ${v4}`, `svc IN AAAA ${v6}`,
    ));
    const cfg = write(join(dir, 'named.conf'), lines(
      'options {', `  directory "${work}";`, `  pid-file "${join(dir, 'named.pid')}";`,
      `  session-keyfile "${join(dir, 'session.key')}";`, `  listen-on port 53 { ${v4}; };`,
      `  listen-on-v6 port 53 { ${v6}; };`, '  recursion no;', '  dnssec-validation no;', '  allow-query { any; };',
      '};', 'controls { };', `zone "lab.test" { type primary; file "${zone}"; };`,
    ));
    // Foreground (-g logs to stderr), as root: everything it writes is in this directory.
    return { argv: ['/usr/sbin/named', '-g', '-n', '1', '-c', cfg] };
  },

  async nginx({ dir, v4, v6, cert }) {
    const www = subdir(dir, 'www');
    write(join(www, 'index.html'), '<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>lab</body></html>\n');
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${subdir(dir, t)};`);
    const cfg = write(join(dir, 'nginx.conf'), lines(
      'daemon off;', 'master_process on;', 'worker_processes 1;', 'user www-data;', `pid ${join(dir, 'nginx.pid')};`,
      'error_log stderr notice;', 'events { worker_connections 256; }', 'http {', '  access_log off;', temp,
      `  server { listen ${v4}:80; listen [${v6}]:80; root ${www}; }`,
      `  server { listen ${v4}:443 ssl; listen [${v6}]:443 ssl; root ${www};`,
      `    ssl_certificate ${cert.cert}; ssl_certificate_key ${cert.key}; }`,
      '}',
    ));
    return { argv: ['/usr/sbin/nginx', '-e', 'stderr', '-p', dir, '-c', cfg] };
  },

  async dovecot({ dir, v4, v6 }) {
    const users = write(join(dir, 'users'), ''); // no account at all: nothing can log in
    const cfg = write(join(dir, 'dovecot.conf'), lines(
      `base_dir = ${subdir(dir, 'run')}`, `state_dir = ${subdir(dir, 'state')}`, 'protocols = imap pop3',
      `listen = ${v4}, ${v6}`, 'ssl = no', 'disable_plaintext_auth = yes', 'auth_mechanisms = plain',
      `passdb {\n  driver = passwd-file\n  args = ${users}\n}`, `userdb {\n  driver = passwd-file\n  args = ${users}\n}`,
      'mail_location = maildir:~/Maildir', 'log_path = /dev/stderr', 'default_login_user = dovenull',
      'default_internal_user = dovecot',
      'service imap-login {\n  inet_listener imap {\n    port = 143\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}',
      'service pop3-login {\n  inet_listener pop3 {\n    port = 110\n  }\n  inet_listener pop3s {\n    port = 0\n  }\n}',
    ));
    return { argv: ['/usr/sbin/dovecot', '-F', '-c', cfg] };
  },

  async mqtt({ dir, v4, v6 }) {
    const cfg = write(join(dir, 'mosquitto.conf'), lines(
      `listener 1883 ${v4}`, `listener 1883 ${v6}`, 'allow_anonymous true', 'persistence false',
      'log_dest stderr', 'user mosquitto',
    ));
    return { argv: ['/usr/sbin/mosquitto', '-c', cfg] };
  },

  async mariadb({ dir, v4, v6, run, chown }) {
    const data = join(dir, 'data');
    chown(dir, 'mysql');
    // Small InnoDB files: the default 96 MiB redo log alone would be most of the lab's disk use.
    const small = ['--innodb-log-file-size=4M', '--innodb-buffer-pool-size=8M'];
    await run('mariadb-install-db', [
      '--no-defaults', `--datadir=${data}`, '--user=mysql', '--auth-root-authentication-method=socket',
      '--skip-test-db', '--skip-name-resolve', ...small,
    ]);
    // Without an account whose host part matches the scanner, MariaDB answers "Host ... is not allowed"
    // instead of its handshake. This one can never log in (unix_socket over TCP, locked).
    const init = write(join(dir, 'init.sql'), "CREATE USER IF NOT EXISTS 'lab'@'%' IDENTIFIED VIA unix_socket ACCOUNT LOCK;\n");
    return {
      argv: [
        '/usr/sbin/mariadbd', '--no-defaults', `--datadir=${data}`, `--socket=${join(dir, 'mysqld.sock')}`,
        `--pid-file=${join(dir, 'mariadbd.pid')}`, `--bind-address=${v4},${v6}`, '--port=3306', '--user=mysql',
        '--skip-name-resolve', ...small, `--init-file=${init}`, '--skip-log-bin',
      ],
    };
  },

  async postgresql({ dir, v4, v6, run, chown, pgBin }) {
    const data = join(dir, 'data');
    chown(dir, 'postgres');
    // Remote peers get "no pg_hba.conf entry" (reject): the server still speaks its protocol.
    await run('setpriv', asUser('postgres', [
      join(pgBin, 'initdb'), '-D', data, '-A', 'peer', '--auth-host=reject', '--no-sync', '-E', 'UTF8', '--locale=C', '-U', 'postgres',
    ]).slice(1));
    return {
      argv: asUser('postgres', [
        join(pgBin, 'postgres'), '-D', data, '-k', dir, '-p', '5432', '-c', `listen_addresses=${v4},${v6}`,
        '-c', 'fsync=off', '-c', 'logging_collector=off', '-c', 'shared_buffers=16MB',
      ]),
      stopSignal: 'SIGINT', // fast shutdown; SIGTERM ("smart") would wait for every client
    };
  },

  async redis({ dir, v4, v6, chown }) {
    chown(dir, 'redis');
    return {
      argv: asUser('redis', [
        '/usr/bin/redis-server', '--bind', v4, v6, '--port', '6379', '--protected-mode', 'no', '--save', '',
        '--appendonly', 'no', '--daemonize', 'no', '--supervised', 'no', '--dir', dir, '--logfile', '',
      ]),
    };
  },

  async apache({ dir, v4, v6, fqdn }) {
    const www = subdir(dir, 'www');
    write(join(www, 'index.html'), '<html><body><h1>It works!</h1></body></html>\n');
    const run = subdir(dir, 'run');
    const mod = (name, file) => `LoadModule ${name}_module /usr/lib/apache2/modules/mod_${file ?? name}.so`;
    const cfg = write(join(dir, 'apache2.conf'), lines(
      `ServerRoot "${dir}"`, `DefaultRuntimeDir "${run}"`, `PidFile "${join(run, 'apache2.pid')}"`,
      mod('mpm_event'), mod('authz_core'), mod('mime'), mod('dir'),
      `Listen ${v4}:8080`, `Listen [${v6}]:8080`, 'User www-data', 'Group www-data', `ServerName ${fqdn}`,
      'ErrorLog /dev/stderr', 'LogLevel warn', 'TypesConfig /etc/mime.types', `DocumentRoot "${www}"`,
      `<Directory "${www}">`, '  Require all granted', '</Directory>', 'DirectoryIndex index.html',
      'StartServers 1', 'ServerLimit 2', 'ThreadsPerChild 16', 'MaxRequestWorkers 32', 'MinSpareThreads 8', 'MaxSpareThreads 32',
    ));
    return { argv: ['/usr/sbin/apache2', '-d', dir, '-f', cfg, '-DFOREGROUND'] };
  },

  async memcached({ v4, v6 }) {
    return { argv: ['/usr/bin/memcached', '-u', 'memcache', '-l', `${v4},[${v6}]`, '-p', '11211', '-U', '0', '-m', '16', '-c', '256'] };
  },
};
