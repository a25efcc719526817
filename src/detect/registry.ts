/**
 * The built-in detectors, one line each. Order matters twice: greetings are offered to detectors
 * in this order (strict, unambiguous banners first; telnet's loose option bytes late), and among
 * probes of equal rarity the earlier one runs first.
 */
import type { Detector } from './types.js';
import { detector as ssh } from './protocols/ssh.js';
import { detector as ftp } from './protocols/ftp.js';
import { detector as smtp } from './protocols/smtp.js';
import { detector as imap } from './protocols/imap.js';
import { detector as pop3 } from './protocols/pop3.js';
import { detector as mysql } from './protocols/mysql.js';
import { detector as vnc } from './protocols/vnc.js';
import { detector as rsync } from './protocols/rsync.js';
import { detector as nats } from './protocols/nats.js';
import { detector as http } from './protocols/http.js';
import { detector as redis } from './protocols/redis.js';
import { detector as memcached } from './protocols/memcached.js';
import { detector as postgresql } from './protocols/postgresql.js';
import { detector as mongodb } from './protocols/mongodb.js';
import { detector as mqtt } from './protocols/mqtt.js';
import { detector as amqp } from './protocols/amqp.js';
import { detector as dns } from './protocols/dns.js';
import { detector as ldap } from './protocols/ldap.js';
import { detector as smb } from './protocols/smb.js';
import { detector as rdp } from './protocols/rdp.js';
import { detector as irc } from './protocols/irc.js';
import { detector as xmpp } from './protocols/xmpp.js';
import { detector as git } from './protocols/git.js';
import { detector as telnet } from './protocols/telnet.js';

export const DETECTORS: readonly Detector[] = [
  ssh,
  ftp,
  smtp,
  imap,
  pop3,
  mysql,
  vnc,
  rsync,
  nats,
  http,
  redis,
  memcached,
  postgresql,
  mongodb,
  mqtt,
  amqp,
  dns,
  ldap,
  smb,
  rdp,
  irc,
  xmpp,
  git,
  telnet,
];
